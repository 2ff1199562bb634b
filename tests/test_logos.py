"""Logos: only real PNG, JPEG or WebP images within limits, served as clean 512 px squares."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from eventapp.applications.logos import MAX_BYTES, LogoTooLarge, UnsupportedLogo, process_logo
from eventapp.applications.tables import ApplicationLogo
from eventapp.errors import DomainError, InvalidInput
from tests.test_applications import COMPLETE, as_applicant, organiser_event


def image_bytes(fmt: str, size=(800, 400), exif: bool = False, mode="RGB") -> bytes:
    image = Image.new(mode, size, (200, 30, 60) if mode == "RGB" else 128)
    out = io.BytesIO()
    kwargs = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "SpyCam"  # Make
        tags[0x0131] = "secret-software"  # Software
        tags[0x0112] = 6  # Orientation: rotate 90
        kwargs["exif"] = tags.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height`: a decompression bomb's calling card."""
    png = bytearray(image_bytes("PNG", (1, 1)))
    ihdr = png.index(b"IHDR")
    png[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(png[ihdr : ihdr + 17]))
    png[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(png)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_logo_is_re_encoded_as_a_512_px_square_png(fmt):
    logo = process_logo(image_bytes(fmt), f"logo.{fmt.lower()}", f"image/{fmt.lower()}")
    with Image.open(io.BytesIO(logo.png)) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (512, 512), "RGBA")
        # The wide logo sits in the middle, with transparent bands above and below.
        assert image.getpixel((256, 5))[3] == 0 and image.getpixel((256, 256))[3] == 255


def test_exif_is_stripped_and_its_orientation_applied():
    data = image_bytes("JPEG", (800, 400), exif=True)
    assert b"SpyCam" in data
    logo = process_logo(data, "photo.jpg", "image/jpeg")
    assert b"SpyCam" not in logo.png and b"secret-software" not in logo.png
    with Image.open(io.BytesIO(logo.png)) as image:
        assert not image.getexif() and "exif" not in image.info
        # Rotated upright (800x400 turned to 400x800): transparent bands left and right.
        assert image.getpixel((5, 256))[3] == 0 and image.getpixel((256, 5))[3] == 255


@pytest.mark.parametrize(
    ("data", "name", "kind", "reason"),
    [
        (b"%PDF-1.7 not an image", "logo.png", UnsupportedLogo, "not_an_image"),
        (image_bytes("GIF", (40, 40), mode="L"), "logo.gif", UnsupportedLogo, "logo_format"),
        (image_bytes("BMP", (40, 40)), "logo.bmp", UnsupportedLogo, "logo_format"),
        (image_bytes("PNG"), "logo.jpg", UnsupportedLogo, "logo_extension_mismatch"),
        (image_bytes("JPEG"), "logo.webp", UnsupportedLogo, "logo_extension_mismatch"),
        (image_bytes("PNG")[:200], "logo.png", InvalidInput, "logo_corrupt"),
        (image_bytes("JPEG")[:300], "logo.jpg", InvalidInput, "logo_corrupt"),
        (claiming_size(20_000, 20_000), "bomb.png", InvalidInput, "logo_too_many_pixels"),
        (claiming_size(7_000, 6_000), "big.png", InvalidInput, "logo_too_many_pixels"),
        (b"", "empty.png", InvalidInput, "logo_empty"),
        (os.urandom(MAX_BYTES + 1), "huge.png", LogoTooLarge, "logo_too_large"),
    ],
    ids=[
        "not an image",
        "gif",
        "bmp",
        "png named jpg",
        "jpeg named webp",
        "truncated png",
        "truncated jpeg",
        "bomb 400 MP",
        "42 MP",
        "empty",
        "over 5 MB",
    ],
)
def test_bad_uploads_are_refused_with_a_reason(data, name, kind, reason):
    with pytest.raises(kind) as refused:
        process_logo(data, name, "")
    assert refused.value.reason == reason and 400 <= refused.value.status_code < 500


def test_a_declared_type_that_lies_is_refused():
    with pytest.raises(UnsupportedLogo) as refused:
        process_logo(image_bytes("PNG"), "", "image/webp")
    assert refused.value.reason == "logo_extension_mismatch"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=3000))
def test_any_bytes_or_damaged_image_is_a_4xx_never_a_crash(noise, cut):
    for data in (noise, image_bytes("PNG", (30, 30))[:cut], b"\x89PNG\r\n\x1a\n" + noise):
        try:
            process_logo(data, "x.png", "image/png")
        except DomainError as error:
            assert 400 <= error.status_code < 500


async def test_an_uploaded_logo_is_served_to_its_start_up_and_a_bad_one_stores_nothing(client):
    await organiser_event(client, open_to_all=True)
    await as_applicant(client)
    draft = (await client.post("/api/events/asean/applications", json=COMPLETE)).json()
    url = f"/api/events/asean/applications/{draft['id']}/logo"
    bad = await client.put(
        url, content=claiming_size(20_000, 20_000), params={"filename": "logo.png"}
    )
    assert (bad.status_code, bad.json()["reason"]) == (400, "logo_too_many_pixels")
    lying = await client.put(
        url, content=image_bytes("PNG"), headers={"Content-Type": "image/jpeg"}
    )
    assert (lying.status_code, lying.json()["reason"]) == (415, "logo_extension_mismatch")
    assert await ApplicationLogo.count() == 0

    named = await client.put(url, content=image_bytes("PNG"), params={"filename": "logo.webp"})
    assert (named.status_code, named.json()["reason"]) == (415, "logo_extension_mismatch")
    good = await client.put(
        url,
        content=image_bytes("JPEG", exif=True),
        params={"filename": "Logo.JPG"},
        headers={"Content-Type": "image/jpeg"},
    )
    assert good.status_code == 200, good.text
    logo_url = good.json()["logo_url"]
    assert logo_url.startswith(url)
    served = await client.get(logo_url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (512, 512) and not image.getexif()

    big = await client.put(url, content=os.urandom(MAX_BYTES + 1))
    assert (big.status_code, big.json()["reason"]) == (413, "logo_too_large")
    huger = await client.put(url, content=os.urandom(2 * MAX_BYTES))
    assert (huger.status_code, huger.json()["reason"]) == (413, "body_too_large")
    assert await ApplicationLogo.count() == 1

    client.cookies.clear()
    assert (await client.get(url)).status_code == 404  # not selected: not public yet
