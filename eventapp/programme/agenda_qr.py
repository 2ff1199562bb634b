"""The agenda's address as a QR code for the venue screen, rendered on the server."""

from __future__ import annotations

import functools
import io

import qrcode


@functools.lru_cache(maxsize=64)
def agenda_qr_png(url: str) -> bytes:
    """A PNG QR code of `url` (byte mode: a URL has lower-case letters), kept once made."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()
