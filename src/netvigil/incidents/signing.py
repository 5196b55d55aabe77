"""Signed revisions: Ed25519 over the RFC 8785 canonical JSON of a revision.

What is signed is the revision as exported, without its `signature` member, serialised by
the JSON Canonicalization Scheme (RFC 8785: sorted members, no whitespace, ECMAScript number
and string forms), so any tool in any language can rebuild the same bytes. The signature
names the key by id: the first 16 hex digits of the sha256 of the raw public key. An
instance's public keys are served at `/.well-known/netvigil/keys`; `netvigil incidents
verify FILE --public-key KEY` checks a copy with nothing but the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from netvigil.incidents.model import Incident, Signature

ALG = "Ed25519"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(document: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of a JSON document, without its `signature` member."""
    return rfc8785.dumps({k: v for k, v in document.items() if k != "signature"})


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_text(public: Ed25519PublicKey) -> str:
    """The form `--public-key` takes and the keys endpoint serves: raw bytes, base64url."""
    return b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def parse_public(text: str) -> Ed25519PublicKey:
    """A public key from its base64url raw form, or a PEM file's text; ValueError otherwise."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            loaded = serialization.load_pem_public_key(text.encode())
            if not isinstance(loaded, Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
            return loaded
        return Ed25519PublicKey.from_public_bytes(unb64url(text))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise ValueError(f"not an Ed25519 public key: {exc}".splitlines()[0]) from None


class Keyring:
    """The instance's signing key (created on first use) and the public keys it ever had."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        # Oldest first: the newest key signs, the older ones still verify.
        keys = sorted(folder.glob("ed25519-*.pem"), key=lambda path: path.stat().st_mtime)
        if not keys:
            keys = [self._create()]
        self._private: dict[str, Ed25519PrivateKey] = {}
        self.current = ""
        for path in keys:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(loaded, Ed25519PrivateKey):
                self.current = key_id(loaded.public_key())
                self._private[self.current] = loaded
        if not self.current:
            raise ValueError(f"no Ed25519 key in {folder}")

    def _create(self) -> Path:
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = self.folder / f"ed25519-{key_id(private.public_key())}.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        return path

    def public_keys(self) -> list[dict[str, str]]:
        return [
            {"kid": kid, "alg": ALG, "public_key": public_text(key.public_key())}
            for kid, key in sorted(self._private.items())
        ]

    def sign(self, incident: Incident) -> Incident:
        document = msgspec.to_builtins(incident)
        value = self._private[self.current].sign(canonical(document))
        signature = Signature(alg=ALG, kid=self.current, value=b64url(value))
        return msgspec.structs.replace(incident, signature=signature)


def verify(document: dict[str, Any], keys: Iterable[Ed25519PublicKey]) -> str | None:
    """None when a key signed this document as it is; else the reason, in one line."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("alg") != ALG:
        return "no Ed25519 signature"
    by_id = {key_id(k): k for k in keys}
    key = by_id.get(str(signature.get("kid")))
    if key is None:
        return f"signed with key {signature.get('kid')!r}, not with the key given"
    try:
        key.verify(unb64url(str(signature.get("value", ""))), canonical(document))
    except (InvalidSignature, ValueError, binascii.Error):
        return "the signature does not match the content (altered, or another key)"
    return None
