"""How fast are badges made, and does every one scan?

2,000 attendees' badges (name, organisation, the type's colour band, the event, the QR code) as
PNG, in a process pool on every core (eventapp/tickets/badges.py), against plain
`qrcode.make(secret)` saved as PNG in the same run (one core, the naive way: a QR code alone, no
badge). Then every badge is decoded back with zxing-cpp, an independent decoder.

Usage: python bench/badges.py [--attendees N]
The last line is JSON: {"bench": "badges", "badges_per_s", "naive_qr_per_s", "ratio", "decoded"}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qrcode  # noqa: E402
import zxingcpp  # noqa: E402
from PIL import Image  # noqa: E402

from eventapp.tickets.badges import KINDS, Badge, badge_png  # noqa: E402
from eventapp.tickets.signer import TicketSigner, generate_key  # noqa: E402

NAIVE_SECONDS = 4.0
CHUNK = 50

# Scanners read QR codes: a row of modules can also pass for a 1D barcode (ITF).
QR = zxingcpp.BarcodeFormat.QRCode


def attendees(count: int) -> list[Badge]:
    rng = random.Random(2027)
    signer = TicketSigner(generate_key()[0])
    given = ["Putri", "Budi", "Mei Ling", "Arjun", "Siti", "Nattapong", "Linh", "Haruka", "Jose"]
    family = ["Santoso", "Ng", "Menon", "Ismail", "Srisuk", "Nguyen", "Sato", "Reyes", "Aung"]
    firms = ["Lion City Ventures", "Padiio", "SGInnovate", "Mekong Seed Fund", "Kargoly", ""]
    return [
        Badge(
            f"{rng.choice(given)} {rng.choice(family)}",
            rng.choice(firms),
            rng.choice(KINDS),
            "ASEAN Start-up Showcase 2027",
            signer.sign(number, rng.randrange(1, 7)),
        )
        for number in range(1, count + 1)
    ]


def render(badges: list[Badge]) -> list[bytes]:
    return [badge_png(badge) for badge in badges]


def decode(pngs_and_secrets: list[tuple[bytes, str]]) -> int:
    return sum(
        [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=QR)]
        == [secret]
        for png, secret in pngs_and_secrets
    )


def naive_rate(secrets: list[str]) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < NAIVE_SECONDS:
        buffer = io.BytesIO()
        qrcode.make(secrets[done % len(secrets)]).save(buffer, format="PNG")
        done += 1
    return done / elapsed


def main(count: int) -> None:
    badges = attendees(count)
    cores = os.cpu_count() or 2
    chunks = [badges[i : i + CHUNK] for i in range(0, count, CHUNK)]
    with ProcessPoolExecutor(max_workers=cores) as pool:
        list(pool.map(render, [badges[:4]] * cores))  # workers started and warm
        start = time.perf_counter()
        pngs = [png for chunk in pool.map(render, chunks) for png in chunk]
        badges_per_s = count / (time.perf_counter() - start)
        pairs = list(zip(pngs, (b.secret for b in badges), strict=True))
        decoded = sum(pool.map(decode, [pairs[i : i + CHUNK] for i in range(0, count, CHUNK)]))
    naive = naive_rate([badge.secret for badge in badges])
    share = decoded / count
    print(f"{'what':<52}{'per s':>10}")
    print(f"{f'eventapp badge PNGs ({cores} processes)':<52}{badges_per_s:>10.0f}")
    print(f"{'qrcode.make(secret) as PNG (one process, QR only)':<52}{naive:>10.0f}")
    print(
        f"ratio {badges_per_s / naive:.1f}x; zxing-cpp decoded {decoded} of {count} badges; "
        f"{sum(map(len, pngs)) / count / 1024:.1f} KiB a badge"
    )
    figures = {
        "bench": "badges",
        "badges_per_s": round(badges_per_s),
        "naive_qr_per_s": round(naive),
        "ratio": round(badges_per_s / naive, 1),
        "decoded": share,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=2000)
    main(parser.parse_args().attendees)
