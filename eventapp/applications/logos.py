"""Logos: what a start-up uploads is never what is served (pure, no database).

An upload is identified by its bytes, not by its name or declared type; its size and pixel count
are checked from the header before any pixel is decoded (a decompression bomb is a small file
that claims a huge image), it is verified and fully decoded (a truncated file fails here), and
then re-encoded from its pixels alone: a 512 px square PNG, the logo centred on a transparent
background. EXIF, ICC profiles, comments and anything hidden after the image data are gone.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError

from eventapp.errors import DomainError, InvalidInput

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
SIZE = 512
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
EXTENSIONS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".webp": "WEBP",
}


class LogoTooLarge(DomainError):
    status_code = 413
    default_reason = "logo_too_large"


class UnsupportedLogo(DomainError):
    status_code = 415
    default_reason = "logo_format"


@dataclass(frozen=True, slots=True)
class Logo:
    png: bytes
    sha256: str
    source_format: str


def process_logo(data: bytes, filename: str = "", content_type: str = "") -> Logo:
    """The logo to store, or a 4xx naming what is wrong with the upload."""
    if len(data) > MAX_BYTES:
        raise LogoTooLarge(
            f"A logo is at most {MAX_BYTES // (1024 * 1024)} MB; this file is "
            f"{len(data) / (1024 * 1024):.1f} MB."
        )
    if not data:
        raise InvalidInput("The file is empty.", reason="logo_empty")
    # Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that; our own limit is lower
    # and checked first, and a warning is treated as the refusal it should be.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                source_format = probe.format or ""
                width, height = probe.size
        except UnidentifiedImageError:
            raise UnsupportedLogo(
                "This file is not an image we can read: send a PNG, JPEG or WebP.",
                reason="not_an_image",
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except (OSError, ValueError, SyntaxError) as error:
            raise _corrupt(error) from None
        if source_format not in FORMATS:
            raise UnsupportedLogo(
                f"{source_format or 'This format'} is not accepted: send a PNG, JPEG or WebP.",
                reason="logo_format",
            )
        _check_claims(source_format, filename, content_type)
        if width * height > MAX_PIXELS:
            raise _too_many_pixels(width, height)
        if width < 1 or height < 1:
            raise _corrupt(ValueError("no pixels"))
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                pixels = image.convert("RGBA")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except (OSError, ValueError, SyntaxError, EOFError) as error:
            raise _corrupt(error) from None
    square = ImageOps.pad(pixels, (SIZE, SIZE), method=Image.Resampling.LANCZOS, color=(0, 0, 0, 0))
    out = io.BytesIO()
    square.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return Logo(png=png, sha256=hashlib.sha256(png).hexdigest(), source_format=source_format)


def _check_claims(source_format: str, filename: str, content_type: str) -> None:
    """A file whose name or declared type says another format than its bytes is refused."""
    suffix = PurePosixPath(filename).suffix.lower() if filename else ""
    if suffix and EXTENSIONS.get(suffix) != source_format:
        raise UnsupportedLogo(
            f"The file is named {suffix} but is a {source_format} image: rename it or export it "
            "again.",
            reason="logo_extension_mismatch",
        )
    declared = content_type.split(";")[0].strip().lower()
    if declared in {"image/jpg", "image/pjpeg"}:
        declared = "image/jpeg"
    if declared.startswith("image/") and declared != FORMATS[source_format]:
        raise UnsupportedLogo(
            f"The file was sent as {declared} but is a {source_format} image.",
            reason="logo_extension_mismatch",
        )


def _too_many_pixels(width: int | None = None, height: int | None = None) -> InvalidInput:
    size = f" ({width} x {height})" if width and height else ""
    return InvalidInput(
        f"A logo is at most {MAX_PIXELS // 1_000_000} megapixels{size}.",
        reason="logo_too_many_pixels",
    )


def _corrupt(error: BaseException) -> InvalidInput:
    return InvalidInput(
        f"The image is damaged or cut short and cannot be read ({error}).",
        reason="logo_corrupt",
    )
