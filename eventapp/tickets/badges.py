"""Badges as images and print-ready PDFs: pure, no database (name, organisation, a colour band
for the ticket type, the event, the ticket's QR code).

A badge is A6 at 150 dpi (620 x 874 px); four fill an A4 page. What every badge of one event and
kind shares (the band, the event's name) is drawn once and copied; per badge only the name, the
organisation and the QR code are drawn, and a badge's PNG compresses only those rows.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from eventapp.tickets.qr import qr_modules

DPI = 150
BADGE_SIZE = (620, 874)  # A6 portrait at 150 dpi
PAGE_SIZE = (1240, 1748)  # A4 portrait at 150 dpi: two by two badges
QR_SCALE = 8  # pixels a module: 49 modules (quiet zone included) -> 392 px

KINDS = ("attendee", "investor", "startup", "media", "staff", "vip")
KIND_LABELS = {
    "attendee": "Attendee",
    "investor": "Investor",
    "startup": "Start-up team",
    "media": "Media",
    "staff": "Staff",
    "vip": "VIP",
}
# Band colours with white text at a contrast of at least 4.5:1.
KIND_COLOURS = {
    "attendee": (11, 110, 79),
    "investor": (20, 33, 61),
    "startup": (179, 38, 30),
    "media": (106, 27, 154),
    "staff": (66, 66, 66),
    "vip": (150, 100, 0),
}
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


@dataclass(frozen=True, slots=True)
class Badge:
    """What one badge shows."""

    name: str
    organisation: str
    kind: str
    event_name: str
    secret: str


@functools.lru_cache(maxsize=32)
def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    filename = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in _FONT_DIRS:
        if (folder / filename).exists():
            return ImageFont.truetype(str(folder / filename), size)
    return ImageFont.load_default(size=size)


def _fitted(draw: ImageDraw.ImageDraw, text: str, width: int, size: int, bold: bool = True):
    """The largest font up to `size` in which `text` fits `width`, and the text (cut if need be)."""
    while size > 14:
        font = _font(size, bold)
        if draw.textlength(text, font=font) <= width:
            return font, text
        size -= 4
    font = _font(size, bold)
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return font, text + "…"


# One palette for every badge and page: a badge is drawn straight in palette mode (no colour
# reduction afterwards, the costliest step of a PNG or PDF page otherwise).
WHITE, BLACK, NAVY, SLATE, GREY = range(5)
_BAND = {kind: 5 + index for index, kind in enumerate(KINDS)}
PALETTE = bytes(
    [255, 255, 255, 0, 0, 0, 20, 33, 61, 60, 70, 90, 200, 200, 200]
    + [channel for kind in KINDS for channel in KIND_COLOURS[kind]]
)


def _canvas(size: tuple[int, int]) -> Image.Image:
    image = Image.new("P", size, WHITE)
    image.putpalette(PALETTE)
    return image


def _draw(image: Image.Image) -> ImageDraw.ImageDraw:
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # palette images take no blended edges; at 150 dpi print it is crisp
    return draw


@functools.lru_cache(maxsize=64)
def _template(event_name: str, kind: str) -> Image.Image:
    """The parts every badge of one event and kind shares: the event line and the colour band."""
    image = _canvas(BADGE_SIZE)
    draw = _draw(image)
    width = BADGE_SIZE[0] - 60
    font, text = _fitted(draw, event_name, width, 30)
    draw.text((30, 28), text, fill=NAVY, font=font)
    band_top = BADGE_SIZE[1] - 110
    draw.rectangle((0, band_top, BADGE_SIZE[0], BADGE_SIZE[1]), fill=_BAND.get(kind, 5))
    label = KIND_LABELS.get(kind, kind.title()).upper()
    draw.text((BADGE_SIZE[0] // 2, band_top + 55), label, fill=WHITE, font=_font(46), anchor="mm")
    return image


# Each badge draws only rows STRIP_TOP down to its QR code's last; the rows above and below are
# the template's, compressed once for its event and kind (`_template_rows`).
NAME_TOP, ORGANISATION_TOP, QR_TOP = 90, 168, 240
STRIP_TOP = 70  # the event line ends above it; the name's accents stay below it


def badge_image(badge: Badge) -> Image.Image:
    """The badge as a palette image (`PALETTE`), A6 at 150 dpi."""
    image = _template(badge.event_name, badge.kind).copy()
    image.paste(_strip(badge), (0, STRIP_TOP))
    return image


def _strip(badge: Badge) -> Image.Image:
    """What one badge draws: name, organisation and QR code, on the template's rows from
    STRIP_TOP to the code's last row."""
    size, modules = qr_modules(badge.secret)
    side = size * QR_SCALE
    bottom = min(QR_TOP + side, BADGE_SIZE[1])
    strip = _template(badge.event_name, badge.kind).crop((0, STRIP_TOP, BADGE_SIZE[0], bottom))
    draw = _draw(strip)
    width = BADGE_SIZE[0] - 60
    font, name = _fitted(draw, badge.name, width, 56)
    draw.text((30, NAME_TOP - STRIP_TOP), name, fill=NAVY, font=font)
    if badge.organisation:
        font, organisation = _fitted(draw, badge.organisation, width, 34, bold=False)
        draw.text((30, ORGANISATION_TOP - STRIP_TOP), organisation, fill=SLATE, font=font)
    # The modules (quiet zone included) are 1 dark, 0 light: the palette's black and white.
    code = Image.frombytes("L", (size, size), modules).resize(
        (side, side), Image.Resampling.NEAREST
    )
    strip.paste(code, ((BADGE_SIZE[0] - side) // 2, QR_TOP - STRIP_TOP))
    return strip


def badge_png(badge: Badge) -> bytes:
    """A 4-bit indexed PNG, written here (`_Deflated`): the template's rows above and below the
    badge's own come compressed already, so only the badge's own rows are filtered and
    compressed."""
    strip = _strip(badge)
    bottom = STRIP_TOP + strip.height
    parts = [
        _template_rows(badge.event_name, badge.kind, 0, STRIP_TOP),
        _Deflated.of(_packed(strip)),
    ]
    if bottom < BADGE_SIZE[1]:
        parts.append(_template_rows(badge.event_name, badge.kind, bottom, BADGE_SIZE[1]))
    return _png(BADGE_SIZE, parts)


@functools.lru_cache(maxsize=128)
def _template_rows(event_name: str, kind: str, top: int, bottom: int) -> _Deflated:
    rows = _template(event_name, kind).crop((0, top, BADGE_SIZE[0], bottom))
    return _Deflated.of(_packed(rows))


def _packed(image: Image.Image) -> np.ndarray:
    """The image's rows at four bits a pixel (its palette indexes are below 16)."""
    return np.frombuffer(image.tobytes("raw", "P;4"), np.uint8).reshape(image.height, -1)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_NONE, _FILTER_UP = 0, 2  # PNG's row filters: none, and each byte less the one above it
assert len(PALETTE) <= 16 * 3, "a badge PNG has four bits a pixel"


@dataclass(frozen=True, slots=True)
class _Deflated:
    """A run of PNG rows compressed on its own, so that runs can be joined in one zlib stream:
    raw deflate ending on a byte boundary (a sync flush, not the last block), its Adler-32 and
    its length for the stream's checksum.

    Pillow's PNG writer tries four filters on every row, which took longer than zlib. Here a run's
    first row is unfiltered and every other is filtered "up", so rows that repeat the one above
    (eight a QR module, the flat margins and band) become zeros that zlib's run-length strategy
    folds away; a smaller hash table than zlib's default (run-length matching does not use it)
    is less to clear for each badge."""

    data: bytes
    adler: int
    length: int

    @classmethod
    def of(cls, rows: np.ndarray) -> _Deflated:
        scanlines = np.empty((len(rows), 1 + rows.shape[1]), np.uint8)
        scanlines[0, 0], scanlines[1:, 0] = _FILTER_NONE, _FILTER_UP
        scanlines[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=scanlines[1:, 1:])
        compressor = zlib.compressobj(1, zlib.DEFLATED, -15, 4, zlib.Z_RLE)  # 4: hash table size
        data = compressor.compress(scanlines) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return cls(data, zlib.adler32(scanlines), scanlines.nbytes)


_ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, fastest
_LAST_BLOCK = b"\x03\x00"  # an empty final block (fixed codes): what ends the joined stream
_ADLER_BASE = 65521


def _png(size: tuple[int, int], parts: list[_Deflated]) -> bytes:
    """A 4-bit indexed PNG of `PALETTE` whose pixel data is these runs of rows, in order."""
    adler = 1  # Adler-32 of nothing
    for part in parts:  # zlib's adler32_combine: the checksum of the runs one after the other
        low = (adler & 0xFFFF) + (part.adler & 0xFFFF) - 1
        high = (adler >> 16) + (part.adler >> 16) + part.length * ((adler & 0xFFFF) - 1)
        adler = (high % _ADLER_BASE) << 16 | low % _ADLER_BASE
    pixels = b"".join([_ZLIB_HEADER, *(part.data for part in parts), _LAST_BLOCK])
    header = struct.pack(">IIBBBBB", *size, 4, 3, 0, 0, 0)  # 4 bits, indexed colour
    return b"".join(
        [
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", PALETTE),
            _chunk(b"IDAT", pixels + adler.to_bytes(4, "big")),
            _chunk(b"IEND", b""),
        ]
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def pages(badges: Iterable[Badge]) -> Iterator[Image.Image]:
    """A4 pages of four badges each, with thin cut marks between them (palette images)."""
    page: Image.Image | None = None
    for index, badge in enumerate(badges):
        slot = index % 4
        if slot == 0:
            if page is not None:
                yield page
            page = _canvas(PAGE_SIZE)
        assert page is not None
        x, y = (slot % 2) * BADGE_SIZE[0], (slot // 2) * BADGE_SIZE[1]
        page.paste(badge_image(badge), (x, y))
        draw = ImageDraw.Draw(page)
        draw.line((BADGE_SIZE[0], 0, BADGE_SIZE[0], PAGE_SIZE[1]), fill=GREY)
        draw.line((0, BADGE_SIZE[1], PAGE_SIZE[0], BADGE_SIZE[1]), fill=GREY)
    if page is not None:
        yield page


@dataclass(frozen=True, slots=True)
class PageImage:
    """A page as a PDF wants it: palette indexes, zlib-compressed, and the palette (RGB bytes)."""

    pixels: bytes
    palette: bytes


def page_image(page: Image.Image) -> PageImage:
    """Badges have few colours: an indexed, deflated page is lossless (crisp QR codes) and about
    a seventh of a JPEG's size (40 KB an A4 page)."""
    return PageImage(zlib.compress(page.tobytes(), 6), PALETTE)


def page_images(badges: list[Badge]) -> list[PageImage]:
    """Pages of these badges (what a worker process hands back to the PDF writer)."""
    return [page_image(page) for page in pages(badges)]


class PdfWriter:
    """A PDF whose pages are each one indexed image, written page by page so that memory stays
    flat however many badges there are (Pillow's PDF writer holds every page in memory at once).
    """

    def __init__(self, out: BinaryIO, page_size: tuple[int, int] = PAGE_SIZE) -> None:
        self.out = out
        self.width_pt = page_size[0] * 72 / DPI
        self.height_pt = page_size[1] * 72 / DPI
        self.page_size = page_size
        self.position = 0
        self.offsets: dict[int, int] = {}
        self.page_ids: list[int] = []
        self.next_id = 3  # 1 is the catalogue, 2 the page tree, both written last
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def _object(self, number: int, body: str, stream: bytes | None = None) -> None:
        self.offsets[number] = self.position
        self._write(f"{number} 0 obj\n{body}".encode())
        if stream is not None:
            self._write(b"\nstream\n" + stream + b"\nendstream")
        self._write(b"\nendobj\n")

    def add_page(self, image: PageImage) -> None:
        number, content, page = self.next_id, self.next_id + 1, self.next_id + 2
        self.next_id += 3
        width, height = self.page_size
        colours = len(image.palette) // 3
        self._object(
            number,
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace "
            f"[/Indexed /DeviceRGB {colours - 1} <{image.palette.hex()}>] /BitsPerComponent 8 "
            f"/Filter /FlateDecode /Length {len(image.pixels)} >>",
            image.pixels,
        )
        draw = f"q {self.width_pt:.2f} 0 0 {self.height_pt:.2f} 0 0 cm /Im0 Do Q".encode()
        self._object(content, f"<< /Length {len(draw)} >>", draw)
        self._object(
            page,
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {self.width_pt:.2f} "
            f"{self.height_pt:.2f}] /Resources << /XObject << /Im0 {number} 0 R >> >> "
            f"/Contents {content} 0 R >>",
        )
        self.page_ids.append(page)

    def close(self) -> None:
        self._object(1, "<< /Type /Catalog /Pages 2 0 R >>")
        kids = " ".join(f"{number} 0 R" for number in self.page_ids)
        self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.page_ids)} >>")
        start, size = self.position, self.next_id
        rows = [f"xref\n0 {size}\n", "0000000000 65535 f \n"]
        rows += [f"{self.offsets[number]:010d} 00000 n \n" for number in range(1, size)]
        self._write("".join(rows).encode())
        self._write(
            f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{start}\n%%EOF\n".encode()
        )


def badges_pdf(badges: Iterable[Badge]) -> bytes:
    """A print-ready A4 PDF, four badges a page."""
    buffer = io.BytesIO()
    writer = PdfWriter(buffer)
    for page in pages(badges):
        writer.add_page(page_image(page))
    writer.close()
    return buffer.getvalue()
