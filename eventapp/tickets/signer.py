"""Signed ticket secrets a door scanner verifies offline with the event's public key.

The scheme follows pretix's signed secrets (pretix_sig1: version byte, payload, Ed25519
signature), with a fixed binary layout instead of protobuf and base32 instead of base64:

    version   1 byte   (1)
    ticket    4 bytes  unsigned, big-endian
    type      2 bytes  unsigned, big-endian
    seed      8 bytes  random: a re-issued ticket gets a new secret, the old one is revoked
    from      4 bytes  Unix seconds, 0 = no start
    until     4 bytes  Unix seconds, 0 = no end
    signature 64 bytes Ed25519 over the 23 bytes before it (the version included)

87 bytes encode as 140 characters of uppercase base32 without padding (A-Z, 2-7), all in the
QR alphanumeric set (5.5 bits a character against 8 in byte mode): a QR version 6 (41 x 41
modules) at error correction M, where pretix's 115-120 base64 characters in byte mode need
version 7 (45 x 45). Only the one canonical spelling of each secret is accepted, so a secret
string is a stable key for revocation lists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION = 1
SEED_BYTES = 8
_PAYLOAD = struct.Struct(f">BIH{SEED_BYTES}sII")
_SIGNATURE_BYTES = 64
_RAW_BYTES = _PAYLOAD.size + _SIGNATURE_BYTES
SECRET_LENGTH = -(-_RAW_BYTES * 8 // 5)  # 140
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648, in the QR code's alphanumeric mode
ALPHABET = frozenset(_BASE32)
# A secret's shape: on every door scan, so matched in C.
_SHAPE = re.compile(f"[{_BASE32}]{{{SECRET_LENGTH}}}")
_U32 = 2**32


class InvalidSecret(Exception):
    """The scanned text is not a ticket secret this event's key signed (whatever the reason)."""


@dataclass(frozen=True, slots=True)
class TicketClaims:
    """What a verified secret says; whether it is still good (revoked, used) is the caller's."""

    ticket_id: int
    type_id: int
    seed: bytes
    valid_from: datetime | None
    valid_until: datetime | None

    def valid_at(self, moment: datetime) -> bool:
        """False outside the validity window: pretix's check-in reason `invalid_time`."""
        if self.valid_from is not None and moment < self.valid_from:
            return False
        return self.valid_until is None or moment <= self.valid_until


def generate_key() -> tuple[str, str]:
    """A new event key pair: (private, public), each its raw 32 bytes in base64, for storage."""
    private = Ed25519PrivateKey.generate()
    return _b64(private.private_bytes_raw()), _b64(private.public_key().public_bytes_raw())


def revocation_digest(secret: str) -> str:
    """A short, stable name for a secret in the revocation list scanners download.

    Lists of digests rather than secrets do not hand out the secrets themselves, and are shorter.
    """
    return hashlib.blake2b(secret.encode(), digest_size=12).hexdigest()


class TicketSigner:
    """Issues secrets with an event's private key (base64 of its raw 32 bytes)."""

    def __init__(self, private_key: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(_unb64(private_key))

    @property
    def public_key(self) -> str:
        """The public key scanners need: raw 32 bytes in base64."""
        return _b64(self._key.public_key().public_bytes_raw())

    def sign(
        self,
        ticket_id: int,
        type_id: int,
        seed: bytes | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> str:
        """The secret for one ticket; the window is kept to the second (fractions dropped)."""
        if not 0 <= ticket_id < _U32:
            raise ValueError("ticket_id must fit in 32 unsigned bits")
        if not 0 <= type_id < 2**16:
            raise ValueError("type_id must fit in 16 unsigned bits")
        seed = secrets.token_bytes(SEED_BYTES) if seed is None else seed
        if len(seed) != SEED_BYTES:
            raise ValueError(f"seed must be {SEED_BYTES} bytes")
        start, end = _seconds(valid_from), _seconds(valid_until)
        if start and end and start > end:
            raise ValueError("valid_from is after valid_until")
        payload = _PAYLOAD.pack(VERSION, ticket_id, type_id, seed, start, end)
        raw = payload + self._key.sign(payload)
        return base64.b32encode(raw).decode().rstrip("=")


class TicketVerifier:
    """Checks secrets offline with an event's public key (base64 of its raw 32 bytes)."""

    def __init__(self, public_key: str) -> None:
        self._key = Ed25519PublicKey.from_public_bytes(_unb64(public_key))

    def verify(self, secret: str) -> TicketClaims:
        """The claims of a genuine secret; InvalidSecret for anything else, never another error."""
        if not isinstance(secret, str) or _SHAPE.fullmatch(secret) is None:
            raise InvalidSecret("not a ticket secret")
        padded = secret + "=" * (-len(secret) % 8)
        try:
            raw = base64.b32decode(padded)
        except (binascii.Error, ValueError):
            raise InvalidSecret("not a ticket secret") from None
        # The last character carries 4 unused bits: only the spelling with them zero is a secret.
        if base64.b32encode(raw).decode().rstrip("=") != secret:
            raise InvalidSecret("not a ticket secret")
        payload, signature = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        version, ticket_id, type_id, seed, start, end = _PAYLOAD.unpack(payload)
        if version != VERSION:
            raise InvalidSecret("unknown secret version")
        try:
            self._key.verify(signature, payload)
        except InvalidSignature:
            raise InvalidSecret("signature does not match this event's key") from None
        return TicketClaims(ticket_id, type_id, seed, _moment(start), _moment(end))


def claimed_ticket_id(secret: str) -> int | None:
    """The ticket a secret says it is for (the payload's first five bytes, its first eight
    characters), without checking the signature: to keep one ticket's scans together, its old
    and new secrets alike, never to trust. None for what is not shaped like a secret.

    The eight characters are read as a base-32 number in C (Python's digits for it are 0-9a-v,
    RFC 4648's A-Z2-7)."""
    if _SHAPE.fullmatch(secret) is None:
        return None
    prefix = int(secret[:8].translate(_AS_DIGITS), 32)  # version byte, then the 32-bit id
    return prefix % _U32 if prefix // _U32 == VERSION else None


_AS_DIGITS = str.maketrans(_BASE32, "0123456789abcdefghijklmnopqrstuv")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("key must be base64 of 32 raw bytes") from None
    if len(raw) != 32:
        raise ValueError("key must be base64 of 32 raw bytes")
    return raw


def _seconds(moment: datetime | None) -> int:
    if moment is None:
        return 0
    if moment.tzinfo is None:
        raise ValueError("validity times must be timezone-aware")
    seconds = int(moment.timestamp())
    if not 0 < seconds < _U32:
        raise ValueError("validity times must fall between 1970 and 2106")
    return seconds


def _moment(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None
