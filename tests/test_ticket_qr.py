"""The QR codes of tickets: the fast codewords and module layout agree with qrcode's own, and
codes decode."""

from __future__ import annotations

import qrcode
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode.util import ALPHA_NUM, MODE_ALPHA_NUM, QRData, create_data

from eventapp.tickets.qr import (
    ERROR_CORRECTION,
    MASK_PATTERN,
    QUIET_ZONE,
    _codewords,
    _version,
    qr_image,
    qr_modules,
)

ALPHANUMERIC = st.text(alphabet=ALPHA_NUM.decode(), min_size=1, max_size=400)


@settings(max_examples=300, deadline=None)
@given(ALPHANUMERIC)
def test_codewords_are_the_ones_qrcode_makes(secret):
    version = _version(len(secret))
    expected = create_data(version, ERROR_CORRECTION, [QRData(secret, mode=MODE_ALPHA_NUM)])
    assert _codewords(secret, version) == expected


@settings(max_examples=200, deadline=None)
@given(ALPHANUMERIC)
def test_every_module_is_the_one_qrcode_gives_at_the_same_mask(secret):
    code = qrcode.QRCode(
        version=_version(len(secret)),
        error_correction=ERROR_CORRECTION,
        border=QUIET_ZONE,
        mask_pattern=MASK_PATTERN,
    )
    code.add_data(QRData(secret, mode=MODE_ALPHA_NUM), optimize=0)
    code.make(fit=False)
    matrix = code.get_matrix()
    assert qr_modules(secret) == (len(matrix), b"".join(map(bytes, matrix)))


@settings(max_examples=40, deadline=None)
@given(ALPHANUMERIC)
def test_every_code_decodes_to_exactly_its_text(secret):
    results = zxingcpp.read_barcodes(qr_image(secret, 4), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [result.text for result in results] == [secret]
