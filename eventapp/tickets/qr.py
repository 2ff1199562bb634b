"""Ticket secrets as QR codes, fast enough to render on demand.

`qrcode.make(...)` tries all eight mask patterns (each a full layout and penalty count) and
draws through a generic image factory: 64 to 90 codes a second here. A fixed mask, the
alphanumeric mode a base32 secret allows, the version found once per length, codewords by
integer arithmetic, each bit put straight into the module qrcode would give it, the matrix drawn
with Pillow and fast PNG compression make the same code several times faster (bench/qr.py).
A fixed mask may score worse on the spec's penalty rules; scanners decode it all the same (the
tests and bench/qr.py check with zxing-cpp).
"""

from __future__ import annotations

import functools
import io

import numpy as np
import qrcode
from PIL import Image
from qrcode import LUT
from qrcode.base import EXP_TABLE, LOG_TABLE, rs_blocks
from qrcode.util import ALPHA_NUM, MODE_ALPHA_NUM, PAD0, PAD1, QRData, length_in_bits

QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks
MASK_PATTERN = 0
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


def qr_modules(secret: str) -> tuple[int, bytes]:
    """The secret's QR code as (modules a side, one byte a module row by row: 1 dark, 0 light),
    quiet zone included: a badge pastes these bytes as palette indexes, with no conversion."""
    version = _version(len(secret))
    side, blank, data_modules = _layout(version)
    modules = blank.copy()
    modules[data_modules] ^= np.unpackbits(np.frombuffer(bytes(_codewords(secret, version)), "u1"))
    return side, modules.tobytes()


_DARK_AS_BLACK = bytes.maketrans(b"\x00\x01", b"\xff\x00")


def qr_image(secret: str, scale: int = 1) -> Image.Image:
    """A 1-bit image of the secret's QR code, `scale` pixels a module, quiet zone included."""
    size, modules = qr_modules(secret)
    image = Image.frombytes("L", (size, size), modules.translate(_DARK_AS_BLACK)).convert("1")
    if scale != 1:
        image = image.resize((size * scale, size * scale), Image.Resampling.NEAREST)
    return image


def qr_png(secret: str, scale: int = 8) -> bytes:
    """The secret's QR code as PNG (8 pixels a module: 392 px square for a 140-char secret)."""
    buffer = io.BytesIO()
    # zlib level 1: about 200 us less a code than the default 6, for 1.2 KB instead of 0.8 KB.
    qr_image(secret, scale).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@functools.lru_cache(maxsize=16)
def _version(length: int) -> int:
    """The smallest QR version for `length` alphanumeric characters: a fifth of the work, once."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION)
    code.add_data(QRData("A" * length, mode=MODE_ALPHA_NUM), optimize=0)
    return code.best_fit()


# qrcode places a code's bits one module at a time (about 0.6 ms a code, most of a badge's QR
# code). For one version and mask the place of each bit never changes: `_layout` asks qrcode once
# for the code of all-zero codewords and for that of all-one codewords; the modules that differ
# are the data modules, taken in qrcode's reading order. A secret's code is then the all-zero code
# with the secret's codeword bits XORed in (a test holds it to qrcode's own code).
@functools.lru_cache(maxsize=16)
def _layout(version: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Modules a side, the code of all-zero codewords (function patterns, format information and
    the mask alone; quiet zone included) row by row, and the index there of each data bit's module,
    first bit first."""
    count = sum(block.total_count for block in rs_blocks(version, ERROR_CORRECTION))
    blank = _qrcode_matrix(version, [0] * count)
    is_data = blank != _qrcode_matrix(version, [255] * count)
    side, inner = len(blank), len(blank) - 2 * QUIET_ZONE
    order, upward = [], True
    # Two columns at a time from the right, up then down, skipping the vertical timing pattern.
    for right in range(inner - 1, 0, -2):
        if right <= 6:
            right -= 1
        for row in range(inner - 1, -1, -1) if upward else range(inner):
            for column in (right, right - 1):
                if is_data[row + QUIET_ZONE, column + QUIET_ZONE]:
                    order.append((row + QUIET_ZONE) * side + column + QUIET_ZONE)
        upward = not upward
    assert len(order) == count * 8
    return side, blank.ravel(), np.array(order)


def _qrcode_matrix(version: int, codewords: list[int]) -> np.ndarray:
    code = qrcode.QRCode(
        version=version,
        error_correction=ERROR_CORRECTION,
        border=QUIET_ZONE,
        mask_pattern=MASK_PATTERN,
    )
    code.data_cache = codewords
    code.make(fit=False)
    return np.array(code.get_matrix(), dtype=np.uint8)


# qrcode makes the codewords (bits one call each, Reed-Solomon with polynomial objects) in about
# 0.7 ms. `_codewords` makes the same list (a test compares them) with integer arithmetic, in
# about a tenth of the time.
_ALPHA_VALUE = {char: value for value, char in enumerate(ALPHA_NUM.decode())}


def _codewords(secret: str, version: int) -> list[int]:
    """qrcode's `util.create_data` for one alphanumeric segment at ERROR_CORRECTION."""
    blocks = rs_blocks(version, ERROR_CORRECTION)
    capacity = sum(block.data_count for block in blocks) * 8
    values = [_ALPHA_VALUE[char] for char in secret]
    bits, count = MODE_ALPHA_NUM, 4
    width = length_in_bits(MODE_ALPHA_NUM, version)
    bits, count = (bits << width) | len(secret), count + width
    for index in range(0, len(values) - 1, 2):
        bits, count = (bits << 11) | (values[index] * 45 + values[index + 1]), count + 11
    if len(values) % 2:
        bits, count = (bits << 6) | values[-1], count + 6
    if count > capacity:
        raise qrcode.exceptions.DataOverflowError("The secret does not fit this version")
    terminator = min(capacity - count, 4)
    bits, count = bits << terminator, count + terminator
    if count % 8:
        bits, count = bits << (8 - count % 8), count + 8 - count % 8
    data = list(bits.to_bytes(count // 8, "big"))
    data += [PAD0 if index % 2 == 0 else PAD1 for index in range((capacity - count) // 8)]
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        chunk = data[offset : offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_error_correction(bytes(chunk), block.total_count - block.data_count))
    out = [word for column in _columns(data_blocks) for word in column]
    return out + [word for column in _columns(ec_blocks) for word in column]


def _columns(blocks: list) -> list[list[int]]:
    longest = max(len(block) for block in blocks)
    return [[block[i] for block in blocks if i < len(block)] for i in range(longest)]


def _error_correction(data: bytes, count: int) -> list[int]:
    """The Reed-Solomon remainder, `count` bytes held in one integer: a byte in, a shift and an
    XOR with the generator times the byte leaving (`_generator_multiples`)."""
    multiples = _generator_multiples(count)
    mask = (1 << (8 * count)) - 1
    shift = 8 * (count - 1)
    remainder = 0
    for byte in data:
        remainder = ((remainder << 8) & mask) ^ multiples[(remainder >> shift) ^ byte]
    return list(remainder.to_bytes(count, "big"))


@functools.lru_cache(maxsize=8)
def _generator_multiples(count: int) -> list[int]:
    """For each byte value f: f times the generator polynomial (its leading 1 dropped), in GF(256),
    as one integer of `count` bytes."""
    generator = LUT.rsPoly_LUT[count][1:]
    multiples = [0]
    for factor in range(1, 256):
        log = LOG_TABLE[factor]
        products = bytes(0 if g == 0 else EXP_TABLE[(log + LOG_TABLE[g]) % 255] for g in generator)
        multiples.append(int.from_bytes(products, "big"))
    return multiples
