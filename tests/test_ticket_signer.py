"""Ticket secrets: genuine ones verify offline, anything else is refused with InvalidSecret only.

QR codes are checked by decoding the rendered PNG with zxing-cpp, a decoder independent of the
qrcode package that encoded them.
"""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import qrcode.util
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from eventapp.tickets.qr import QUIET_ZONE, qr_image, qr_png
from eventapp.tickets.signer import (
    SECRET_LENGTH,
    InvalidSecret,
    TicketClaims,
    TicketSigner,
    TicketVerifier,
    claimed_ticket_id,
    generate_key,
    revocation_digest,
)

PRIVATE, PUBLIC = generate_key()
SIGNER = TicketSigner(PRIVATE)
VERIFIER = TicketVerifier(PUBLIC)
SECRET = SIGNER.sign(4711, 3, valid_from=datetime(2026, 11, 28, 1, tzinfo=UTC))
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

ticket_ids = st.integers(0, 2**32 - 1)
type_ids = st.integers(0, 2**16 - 1)
seeds = st.binary(min_size=8, max_size=8)
moments = st.integers(1, 2**32 - 1).map(lambda s: datetime.fromtimestamp(s, UTC))


def refused(value: object) -> None:
    with pytest.raises(InvalidSecret):
        VERIFIER.verify(value)


@given(ticket_ids, type_ids, seeds, st.none() | moments, st.none() | moments)
def test_a_signed_secret_verifies_to_what_was_signed(ticket_id, type_id, seed, start, end):
    if start and end and start > end:
        start, end = end, start
    secret = SIGNER.sign(ticket_id, type_id, seed, start, end)
    assert VERIFIER.verify(secret) == TicketClaims(ticket_id, type_id, seed, start, end)
    assert len(secret) == SECRET_LENGTH == 140
    assert re.fullmatch("[A-Z2-7]+", secret)


def test_secrets_use_the_qr_alphanumeric_mode_and_a_version_6_code():
    assert qrcode.util.QRData(SECRET).mode == qrcode.util.MODE_ALPHA_NUM
    assert qr_image(SECRET).size == (41 + 2 * QUIET_ZONE,) * 2


def test_every_other_base32_character_at_every_position_is_refused():
    """Exhaustive, so the last character's four unused bits cannot give a second spelling."""
    for position, original in enumerate(SECRET):
        for char in BASE32.replace(original, ""):
            refused(SECRET[:position] + char + SECRET[position + 1 :])


@given(st.integers(0, SECRET_LENGTH - 1), st.characters())
def test_any_single_character_change_is_refused(position, char):
    changed = SECRET[:position] + char + SECRET[position + 1 :]
    if changed != SECRET:
        refused(changed)


@given(st.integers(0, SECRET_LENGTH - 1))
def test_a_truncated_secret_is_refused(length):
    refused(SECRET[:length])


@given(st.text(min_size=1), st.booleans())
def test_an_extended_secret_is_refused(extra, before):
    refused(extra + SECRET if before else SECRET + extra)


@given(
    st.text()
    | st.text(alphabet=BASE32, min_size=SECRET_LENGTH, max_size=SECRET_LENGTH)
    | st.binary()
    | st.none()
    | st.integers()
)
def test_arbitrary_input_raises_nothing_but_invalid_secret(value):
    refused(value)


def test_a_secret_from_another_events_key_is_refused():
    other = TicketSigner(generate_key()[0])
    refused(other.sign(4711, 3))
    assert TicketVerifier(other.public_key).verify(other.sign(4711, 3)).ticket_id == 4711


def test_an_unknown_version_is_refused_even_when_signed():
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(PRIVATE))
    raw = base64.b32decode(SECRET + "====")
    payload = bytes([2]) + raw[1:23]
    refused(base64.b32encode(payload + key.sign(payload)).decode().rstrip("="))


def test_keys_serialise_and_the_public_key_exports_for_scanners():
    assert SIGNER.public_key == PUBLIC
    assert len(base64.b64decode(PUBLIC)) == len(base64.b64decode(PRIVATE)) == 32
    for bad in ("", "not base64!", base64.b64encode(b"x" * 31).decode()):
        with pytest.raises(ValueError):
            TicketVerifier(bad)


def test_a_reissued_ticket_gets_a_new_secret_and_revocation_digest():
    first, second = SIGNER.sign(7, 1), SIGNER.sign(7, 1)
    assert first != second
    assert revocation_digest(first) != revocation_digest(second)
    assert revocation_digest(first) == revocation_digest(first)
    assert re.fullmatch("[0-9a-f]{24}", revocation_digest(first))


def test_the_validity_window():
    start = datetime(2026, 11, 28, 1, tzinfo=UTC)
    claims = VERIFIER.verify(SIGNER.sign(1, 1, valid_from=start, valid_until=start + timedelta(1)))
    assert not claims.valid_at(start - timedelta(seconds=1))
    assert claims.valid_at(start) and claims.valid_at(start + timedelta(1))
    assert not claims.valid_at(start + timedelta(days=1, seconds=1))
    assert VERIFIER.verify(SECRET).valid_at(datetime(2200, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "arguments",
    [
        {"ticket_id": -1},
        {"ticket_id": 2**32},
        {"type_id": 2**16},
        {"seed": b"short"},
        {"valid_from": datetime(2026, 1, 1)},
        {"valid_from": datetime(1969, 1, 1, tzinfo=UTC)},
        {
            "valid_from": datetime(2026, 1, 2, tzinfo=UTC),
            "valid_until": datetime(2026, 1, 1, tzinfo=UTC),
        },
    ],
)
def test_what_cannot_be_encoded_is_refused_when_signing(arguments):
    with pytest.raises(ValueError):
        SIGNER.sign(**{"ticket_id": 1, "type_id": 1, **arguments})


@settings(max_examples=25, deadline=None)
@given(ticket_ids, type_ids, st.sampled_from([2, 4, 8]))
def test_qr_codes_decode_back_to_the_secret(ticket_id, type_id, scale):
    secret = SIGNER.sign(ticket_id, type_id)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(secret, scale))))
    assert [(d.format, d.text) for d in decoded] == [(zxingcpp.BarcodeFormat.QRCode, secret)]


@given(ticket_ids, type_ids)
def test_a_secret_claims_its_ticket_without_being_checked(ticket_id, type_id):
    """What groups one ticket's scans (old and new secrets) before anything is verified."""
    assert claimed_ticket_id(SIGNER.sign(ticket_id, type_id)) == ticket_id


@given(
    st.text(max_size=SECRET_LENGTH + 2)
    | st.text(BASE32, min_size=SECRET_LENGTH, max_size=SECRET_LENGTH)
    | st.builds(
        lambda position, char: SECRET[:position] + char + SECRET[position + 1 :],
        st.integers(0, SECRET_LENGTH - 1),
        st.characters(),
    )
)
def test_only_text_shaped_like_a_secret_claims_a_ticket_and_nothing_raises(text):
    claimed = claimed_ticket_id(text)
    shaped = len(text) == SECRET_LENGTH and set(text) <= set(BASE32)
    assert (claimed is not None) <= shaped
    if text == SECRET:
        assert claimed == 4711
    assert claimed_ticket_id(SECRET.lower()) is None
