"""Handover (H39): sealing a center before its bundle is made, and the rule `record.after_seal`."""

from __future__ import annotations

from zhikong.archive import audit
from zhikong.archive.catalogue import Catalogue, now_iso
from zhikong.archive.handover_model import CHANGE_ACTIONS, AfterSealFinding, Seal, center_prefix
from zhikong.archive.settings import Center
from zhikong.errors import ConflictError, InputFileError


def seals(cat: Catalogue, center: str | None = None) -> list[Seal]:
    return [Seal(**r) for r in cat.seals(center)]


def seal(cat: Catalogue, center: Center, to_host: str) -> Seal:
    """Seal `center` now, or return its seal still in force (a re-run after an interrupted create)."""
    with cat.transaction():
        for s in reversed(seals(cat, center.name)):
            if s.released_at is None:
                return s
        sealed_at = now_iso()
        seal_id = cat.add_seal(center.name, sealed_at, to_host)
        audit.append(
            cat, "handover.seal", center=center.name, seal_id=seal_id, from_host=center.host, to_host=to_host
        )
    return Seal(seal_id, center.name, sealed_at, to_host, None, None)


def after_seal_findings(cat: Catalogue, center: str | None = None) -> list[AfterSealFinding]:
    """Every change recorded in a sealed center's folder after its seal: what the checks report."""
    active = [s for s in seals(cat, center) if s.released_at is None]
    if not active:
        return []
    entries = audit.entries(cat)
    sealed_seq: dict[int, int] = {
        int(e.detail.get("seal_id", 0)): e.seq for e in entries if e.action == "handover.seal"
    }
    findings: list[AfterSealFinding] = []
    for s in active:
        start = sealed_seq.get(s.id, 0)
        prefix = center_prefix(s.center)
        for e in entries:
            if e.seq <= start or e.action not in CHANGE_ACTIONS:
                continue
            paths = [e.path or "", str(e.detail.get("previous") or "")]
            if e.center == s.center or any(p.startswith(prefix) for p in paths):
                findings.append(AfterSealFinding(s.center, e.path, e.action, e.ts, s.id))
    return findings


def release(cat: Catalogue, center: str, reason: str) -> Seal:
    """Lift the seal in force on `center` (a handover called off); the release is audited with its reason."""
    if not reason.strip():
        raise InputFileError("解除封存必须写明原因（--reason）。")
    with cat.transaction():
        live = [s for s in seals(cat, center) if s.released_at is None]
        if not live:
            raise ConflictError(f"{center} 没有处于封存中的记录。", hint="用 zhikong handover status 查看。")
        s = live[-1]
        released_at = now_iso()
        cat.release_seal(s.id, released_at)
        audit.append(cat, "handover.release", center=center, seal_id=s.id, reason=reason)
    return Seal(s.id, s.center, s.sealed_at, s.to_host, s.bundle, released_at)
