"""Handover when a center's 挂靠单位 changes (H39): seal, bundle, verify (四性, DA/T 70-2018), import.

The bundle is a BagIt bag (see `archive.bag`) whose payload is what the receiver needs, nothing else:

    data/<center>/…                      the center's electronic records in their folder structure
    data/移交资料/移交清单.docx 交接书.docx 封存记录.docx <center>PDF汇编.pdf 目录.csv 个人信息检查.txt
    data/移交资料/zhikong/               machine-readable: handover.json, settings.json, records.json,
                                         versions.json, texts.jsonl, boxes.json, drafts.json,
                                         doc_numbers.json, rectification.json, pii.json, audit.jsonl,
                                         objects/<sha256> (earlier versions and deleted records)

Everything is in the payload, so the manifests (sha256 and sha512) cover the catalogue and the audit log as
well as the files, and `Bag.validate()` alone already proves none of it was altered *since the manifests
were written* — not who wrote them: anyone can recompute them. That the bundle is the old host's is shown
by its fingerprint, printed on the 交接书 and 移交清单 the three parties sign, and optionally by a
signature in the tag file zhikong-signature.txt (see `archive.handover_origin`).

The audit trail across a handover. The old archive's log is one chain for every center; the bundle
carries that chain with the entries of *other* centers redacted to (seq, prev, hash) — their links still
verify, their contents (other centers' file names) do not leave the old host (H27/H28). The new archive
keeps the imported chain verbatim in `imported_audit` and records its head hash in its own chain's
`handover.import` entry. Re-appending the old entries instead would give them new sequence numbers,
timestamps and hashes: the new chain would verify, but nothing would any longer prove the entries are
the ones the old host wrote. Kept verbatim and anchored, both hold: each chain verifies by itself, and
an edit to the imported copy breaks either its links or the anchor in the live chain.

Where each stage lives — this module is the public façade and only re-exports them:

    archive.handover_model    the bundle format (FORMAT, META, MACHINE), value objects, shared row helpers
    archive.handover_seal     seal, seals, release, after_seal_findings (rule record.after_seal)
    archive.handover_create   readiness, create_bundle
    archive.handover_verify   verify_bundle, verify_chain (the 四性 checks)
    archive.handover_schema   every name and value of the machine-readable data, checked before use
    archive.handover_numbers  发文字号: what a bundle's approvals prove, what a receiver may take
    archive.handover_origin   the fingerprint on the signed papers, keys and the optional signature
    archive.handover_import   import_bundle, verify_imported, host_changes
"""

from __future__ import annotations

from zhikong.archive.handover_create import create_bundle, readiness
from zhikong.archive.handover_import import host_changes, import_bundle, verify_imported
from zhikong.archive.handover_model import (
    CHANGE_ACTIONS,
    FORMAT,
    MACHINE,
    META,
    PROPERTIES,
    AfterSealFinding,
    CreateResult,
    HostChange,
    ImportResult,
    PiiFinding,
    Readiness,
    Seal,
    VerifyReport,
)
from zhikong.archive.handover_seal import after_seal_findings, release, seal, seals
from zhikong.archive.handover_verify import FORMATS, verify_bundle, verify_chain

__all__ = [
    "CHANGE_ACTIONS",
    "FORMAT",
    "FORMATS",
    "MACHINE",
    "META",
    "PROPERTIES",
    "AfterSealFinding",
    "CreateResult",
    "HostChange",
    "ImportResult",
    "PiiFinding",
    "Readiness",
    "Seal",
    "VerifyReport",
    "after_seal_findings",
    "create_bundle",
    "host_changes",
    "import_bundle",
    "readiness",
    "release",
    "seal",
    "seals",
    "verify_bundle",
    "verify_chain",
    "verify_imported",
]
