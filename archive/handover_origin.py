"""Handover (H39): is this the bundle the old host made? Its fingerprint on the signed papers, and an
optional Ed25519 signature by a key the old host registered with the bureau.

Consistency is not authenticity. Every manifest, count and hash inside a bag can be recomputed by whoever
changes it (the `bagit` package does it in one call), so `Bag.validate()` and the 四性 checks prove only
that a bundle agrees with itself. What proves it is the old host's is something outside the bag that the
three parties hold: the 交接书 and 移交清单 they sign and stamp on paper (H39), and, optionally, a key.

**What the fingerprint covers, and why not the whole bag.** The papers are themselves files of the bag
(data/移交资料/*.docx), so they cannot print the digest of the final tagmanifest-sha256.txt — which
covers the manifest that lists them. The fingerprint is therefore the sha256 of the manifest lines of
exactly what an import takes:

    data/<center>/…                   every record's file
    data/移交资料/zhikong/…            the catalogue rows, versions, texts, drafts, 发文字号 counters, the
                                       audit chain with its head, the settings, objects/<sha256>

each line ``<sha256>  <path>\\n`` (as in manifest-sha256.txt, paths decoded), sorted by path. The papers,
the PDF compilation, 目录.csv and 个人信息检查.txt are outside it: none of them is imported, and the
signed paper itself is the original the receiver compares with. `handover create` computes it before it
writes the papers (record files from the catalogue's checksums, objects from their names, the machine
files by hashing them), prints it on them, and after bagit has written the manifests recomputes it from
manifest-sha256.txt and refuses to finish if the two differ. `handover verify --fingerprint` recomputes
it from the verified manifest and compares it with what the receiver reads off the signed paper.

**The signature.** `handover keygen` makes an Ed25519 key pair; the old host gives the public key to the
bureau, which passes it to the receiver. `handover create --sign-key` signs ``zhikong-handover/1``, a
newline, the fingerprint and a newline, and writes the signature as the tag file zhikong-signature.txt
(listed in the tag manifests like any tag file); `handover verify --public-key` checks it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from zhikong.archive.handover_model import FORMAT, MACHINE, Origin, center_prefix
from zhikong.errors import ConflictError, InputFileError, Problem

SIGNATURE_FILE = "zhikong-signature.txt"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


# -- the fingerprint -------------------------------------------------------------------------------


def in_scope(path: str, center: str) -> bool:
    """Is this payload path (``data/…``) covered by the fingerprint?"""
    return path.startswith((f"data/{center_prefix(center)}", f"data/{MACHINE}/"))


def fingerprint(sha256: Mapping[str, str], center: str) -> str:
    """The fingerprint of a bag whose payload manifest maps `data/…` paths to their sha256."""
    lines = sorted(f"{sha.lower()}  {path}\n" for path, sha in sha256.items() if in_scope(path, center))
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def normalise(text: str) -> str:
    """A fingerprint as typed from the paper: spaces, dashes and case do not matter, its length does."""
    value = re.sub(r"[\s\-:：]", "", text).lower()
    if not _HEX64.match(value):
        raise InputFileError(
            f"指纹应为 64 位十六进制数（0–9、a–f），交接书上分 8 组印出：{text!r}",
            hint="照交接书或移交清单上“移交包指纹”一行输入，空格可有可无。",
        )
    return value


def grouped(value: str) -> str:
    """``1a2b3c4d 5e6f…``: eight groups of eight, for a printed page and a person comparing by eye."""
    return " ".join(value[i : i + 8] for i in range(0, len(value), 8))


# -- keys and the signature ------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    key_id: str

    def to_json(self) -> dict[str, str]:
        return {"private": str(self.private), "public": str(self.public), "key_id": self.key_id}


def key_id(public: Ed25519PublicKey) -> str:
    """A short name of a public key (the first 16 hex digits of the sha256 of its raw bytes)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return grouped(hashlib.sha256(raw).hexdigest()[:16])


def generate_key(folder: Path, host: str) -> KeyPair:
    """A new Ed25519 key pair for `host` in `folder`: <host>-私钥.pem (readable by the owner only, to be
    kept by the old host) and <host>-公钥.pem (to be registered with the bureau). Never overwrites."""
    folder = folder.expanduser()
    if not folder.is_dir():
        raise InputFileError(f"目录不存在：{folder}")
    name = host.strip()
    if not name or any(ch in name for ch in '/\\:*?"<>|') or any(ord(ch) < 32 for ch in name):
        raise InputFileError(f'单位名称不能为空，也不能含有 / \\ : * ? " < > | 等字符：{host!r}')
    private_path, public_path = folder / f"{name}-私钥.pem", folder / f"{name}-公钥.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise ConflictError(f"{path} 已经存在，没有覆盖。", hint="换一个目录，或先移走旧的密钥。")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public = key.public_key()
    public_path.write_bytes(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return KeyPair(private_path, public_path, key_id(public))


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.expanduser().read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputFileError(
            f"无法读取签名私钥 {path}：{exc}", hint="用 zhikong handover keygen 生成的 …-私钥.pem 文件。"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputFileError(f"{path} 不是 Ed25519 私钥。", hint="用 zhikong handover keygen 生成密钥。")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.expanduser().read_bytes())
    except (OSError, ValueError, UnsupportedAlgorithm) as exc:
        raise InputFileError(
            f"无法读取公钥 {path}：{exc}", hint="用移交单位在医政科登记的 …-公钥.pem 文件。"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputFileError(f"{path} 不是 Ed25519 公钥。")
    return key


def _message(value: str) -> bytes:
    return f"{FORMAT}\n{value}\n".encode()


def signature_file(key: Ed25519PrivateKey, value: str) -> str:
    """The text of zhikong-signature.txt: which key signed which fingerprint, and the signature."""
    signature = base64.b64encode(key.sign(_message(value))).decode("ascii")
    return (
        "Algorithm: Ed25519\n"
        f"Key-Id: {key_id(key.public_key())}\n"
        f"Fingerprint: {value}\n"
        f"Signature: {signature}\n"
    )


def _read_signature(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return fields


# -- the receiver's check --------------------------------------------------------------------------


@dataclass(frozen=True)
class OriginCheck:
    origin: Origin
    problems: list[Problem]
    warnings: list[Problem]


def check(
    bag_dir: Path, value: str, *, expected: str | None, public_key: Ed25519PublicKey | None
) -> OriginCheck:
    """Compare the bundle's fingerprint `value` with the paper's (`expected`) and check its signature
    with `public_key`; with neither, say that the origin is unchecked."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    signed = bag_dir / SIGNATURE_FILE
    if expected is not None and expected != value:
        problems.append(
            Problem(
                "authenticity.fingerprint",
                f"移交包指纹与交接书上的不符：包内为 {grouped(value)}，交接书为 {grouped(expected)}；"
                "移交包在签字盖章之后被改动或调换过",
            )
        )
    if public_key is not None:
        problems += _check_signature(signed, value, public_key)
    if expected is None and public_key is None:
        note = ""
        if signed.is_file():
            note = (
                f"包内有签名（密钥 {_read_signature(signed).get('Key-Id', '?')}），可用 --public-key 核对。"
            )
        warnings.append(
            Problem(
                "authenticity.origin",
                "未核对来源：只证明移交包内各部分一致，不能证明它就是移交单位生成的那一个（包内的清单和校验和"
                "谁都可以重算）。请用 --fingerprint 输入交接书上的移交包指纹"
                + ("；" + note if note else "。"),
            )
        )
    if problems or (expected is None and public_key is None):
        origin = Origin.UNCHECKED
    elif expected is not None and public_key is not None:
        origin = Origin.BOTH
    else:
        origin = Origin.FINGERPRINT if expected is not None else Origin.SIGNATURE
    return OriginCheck(origin, problems, warnings)


def _check_signature(signed: Path, value: str, public_key: Ed25519PublicKey) -> list[Problem]:
    if not signed.is_file():
        return [
            Problem(
                "authenticity.signature", "移交包没有签名（缺少 zhikong-signature.txt）", path=SIGNATURE_FILE
            )
        ]
    try:
        fields = _read_signature(signed)
        signature = base64.b64decode(fields.get("Signature", ""), validate=True)
    except (OSError, ValueError) as exc:
        return [Problem("authenticity.signature", f"签名文件无法读取：{exc}", path=SIGNATURE_FILE)]
    expected_id = key_id(public_key)
    if fields.get("Key-Id") != expected_id:
        return [
            Problem(
                "authenticity.signature",
                f"签名所用的密钥（{fields.get('Key-Id')}）不是给定的公钥（{expected_id}）",
                path=SIGNATURE_FILE,
            )
        ]
    try:
        public_key.verify(signature, _message(value))
    except InvalidSignature:
        return [
            Problem(
                "authenticity.signature",
                "签名无效：移交包在签名之后被改动过，或签名不是用这把密钥做的",
                path=SIGNATURE_FILE,
            )
        ]
    return []
