"""How fast are ticket QR codes rendered, and do scanners read them?

Renders freshly signed 140-character secrets for a few seconds each way: eventapp's renderer
(fixed mask, alphanumeric mode, the matrix drawn with Pillow; eventapp/tickets/qr.py) and
`qrcode.make(secret)` saved as PNG, the naive way. Then decodes a sample of eventapp's PNGs
with zxing-cpp (`pip install -e '.[test]'`), a decoder independent of the qrcode package.

Usage: python bench/qr.py
The last line is JSON: {"bench": "qr", "qr_per_s", "naive_qr_per_s", "ratio", "decoded"}.
"""

from __future__ import annotations

import io
import json
import time

import qrcode
import zxingcpp
from PIL import Image

from eventapp.tickets.qr import qr_png
from eventapp.tickets.signer import TicketSigner, generate_key

SECONDS = 4.0
DECODE_SAMPLE = 200


def naive_png(secret: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(secret).save(buffer, format="PNG")
    return buffer.getvalue()


def rate(render, secrets: list[str]) -> float:
    """Codes a second over SECONDS of wall time, cycling through the secrets."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS:
        render(secrets[done % len(secrets)])
        done += 1
    return done / elapsed


def main() -> None:
    signer = TicketSigner(generate_key()[0])
    secrets = [signer.sign(ticket_id, ticket_id % 5) for ticket_id in range(1, 1001)]
    ours = rate(qr_png, secrets)
    naive = rate(naive_png, secrets)
    sample = secrets[:DECODE_SAMPLE]
    decoded = sum(
        [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(s))))] == [s]
        for s in sample
    ) / len(sample)
    print(f"{'renderer':<36}{'PNGs/s':>10}")
    print(f"{'eventapp (fixed mask, Pillow)':<36}{ours:>10.0f}")
    print(f"{'qrcode.make(secret) as PNG':<36}{naive:>10.0f}")
    print(f"ratio {ours / naive:.1f}x; zxing-cpp decoded {decoded:.0%} of {len(sample)} codes")
    figures = {
        "bench": "qr",
        "qr_per_s": round(ours),
        "naive_qr_per_s": round(naive),
        "ratio": round(ours / naive, 1),
        "decoded": decoded,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
