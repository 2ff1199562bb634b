"""How fast does the door check in? Check-ins against a bare Litestar app served the same way.

One run: a bare Litestar app answering a constant (the ceiling, served with the options
`eventapp run` uses), then eventapp on SQLite and on PostgreSQL, each migrated, seeded with the
demo and 40,000 more tickets, and served by one uvicorn worker. wrk (32 connections, one
thread) sends `POST /api/events/asean-showcase/checkins` with a door-staff device token: every
fifth scan repeats a ticket scanned just before (20 % duplicates, answered 400
already_redeemed), the rest are first entries (201). Each run scans a fresh single-entry list.

Usage: python bench/checkin.py [--seconds S] [--repeat N] [--no-postgres]
Needs wrk (apt-get install wrk). PostgreSQL: EVENTAPP_BENCH_POSTGRES (default
postgresql://postgres@127.0.0.1:5432/test); a database is made for the run and dropped after.
The last line is JSON: {"bench": "checkin", "sqlite_ratio", "postgres_ratio",
"sqlite_checkins_per_s", "sqlite_p99_ms", "postgres_p99_ms", ...}; a ratio is check-ins a second
over the bare route's requests a second.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_requests", ROOT / "bench" / "requests.py")
shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shared)

SLUG = shared.SLUG
TICKETS = 40_000
CONNECTIONS = 32

# Secrets from a file; every fifth request repeats the secret sent four requests before, the
# others take the next secret not scanned yet (so 20 % of scans are duplicates while the file
# lasts: `TICKETS` covers a run of `TICKETS / 0.8` requests, and the table says if it did not).
WRK_SCRIPT = r"""
local secrets = {}
local counter = 0
local fresh = 0
local recent = {}
local threads = {}
local list_id = os.getenv("BENCH_LIST")
local token = os.getenv("BENCH_TOKEN")
local run_id = os.getenv("BENCH_RUN")

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_SECRETS")) do table.insert(secrets, line) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local secret
  if counter % 5 == 0 then
    secret = recent[counter - 4]
  else
    fresh = fresh + 1
    secret = secrets[((fresh - 1) % #secrets) + 1]
  end
  recent[counter] = secret
  recent[counter - 5] = nil
  local body = string.format(
    '{"secret": "%s", "list": %s, "type": "entry", "nonce": "%s-%d", "gate": "bench"}',
    secret, list_id, run_id, counter)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50_us": %d, "p99_us": %d, "non2xx": %d, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.status, errors))
end
"""


def call(base: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode() if body is not None else None, headers=headers
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def token_for(base: str, login: tuple[str, str], event: str | None = None) -> str:
    body = {"email": login[0], "password": login[1], "label": "bench"}
    if event:
        body["event"] = event
    return call(base, "/api/auth/tokens", body=body)["token"]


def prepare(base: str, logins: dict, folder: Path) -> tuple[str, str, Path]:
    """`TICKETS` more tickets (CSV imports, not mailed); their secrets in a file for wrk."""
    organiser = token_for(base, logins["organiser"])
    door = token_for(base, logins["door_staff"], SLUG)
    kind = call(
        base,
        f"/api/events/{SLUG}/ticket-types",
        organiser,
        {"kind": "attendee", "name": "Bench", "capacity": TICKETS, "public": False},
    )
    for start in range(0, TICKETS, 5000):
        rows = "".join(
            f"Guest {n},guest{n}@bench.example.org,Bench\n" for n in range(start, start + 5000)
        )
        call(
            base,
            f"/api/events/{SLUG}/tickets/import",
            organiser,
            {"csv": "name,email,ticket_type\n" + rows, "send": False},
        )
    found: list[str] = []
    while len(found) < TICKETS:
        page = call(
            base,
            f"/api/events/{SLUG}/tickets?ticket_type={kind['id']}&limit=200&offset={len(found)}",
            organiser,
        )
        found += [ticket["secret"] for ticket in page["items"]]
    path = folder / "secrets.txt"
    path.write_text("\n".join(found) + "\n")
    return organiser, door, path


def run_wrk(pid: int, base: str, script: Path, seconds: float, env: dict) -> dict:
    cpu_before = shared.cpu_seconds(pid)
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds:g}s",
            "-s",
            str(script),
            f"{base}/api/events/{SLUG}/checkins",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    cpu = shared.cpu_seconds(pid) - cpu_before
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "cpu_us": round(cpu / max(figures["requests"], 1) * 1e6),
        "per_s": round(figures["requests"] / figures["seconds"], 1),
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p99_ms": round(figures["p99_us"] / 1000, 2),
        "errors": figures["errors"],
        "requests": figures["requests"],
        "refused": figures["non2xx"],  # 400 already_redeemed (wrk counts every non-2xx)
    }


def bench_engine(env: dict, folder: Path, script: Path, seconds: float, repeat: int) -> dict:
    logins = shared.seed(env)
    port = shared.free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "eventapp.cli", "run", "--port", str(port)]
    with shared.serving(command, env, f"{base}/health") as pid:
        organiser, door, secrets_file = prepare(base, logins, folder)
        runs = []
        for number in range(repeat):
            checkin_list = call(
                base,
                f"/api/events/{SLUG}/checkin-lists",
                organiser,
                {"name": f"Bench door {number} {secrets.token_hex(3)}"},
            )
            runs.append(
                run_wrk(
                    pid,
                    base,
                    script,
                    seconds,
                    {
                        "BENCH_LIST": str(checkin_list["id"]),
                        "BENCH_TOKEN": door,
                        "BENCH_RUN": secrets.token_hex(4),
                        "BENCH_SECRETS": str(secrets_file),
                    },
                )
            )
            counts = call(base, f"/api/events/{SLUG}/checkin-counts", organiser)
            entry = next(c for c in counts["lists"] if c["list_id"] == checkin_list["id"])
            runs[-1]["admitted"] = entry["entries"]
            time.sleep(1)
        return max(runs, key=lambda run: run["per_s"])


def main(seconds: float, repeat: int, postgres: bool) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    shared.REPEAT = repeat
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        bare_script = folder / "bare.lua"
        bare_script.write_text(shared.WRK_SCRIPT)
        script = folder / "checkin.lua"
        script.write_text(WRK_SCRIPT)
        port = shared.free_port()
        bare_env = shared.eventapp_env(f"sqlite:///{folder / 'bare.sqlite'}", folder)
        with shared.serving(
            [sys.executable, str(ROOT / "bench" / "requests.py"), "--serve-bare", str(port)],
            bare_env,
            f"http://127.0.0.1:{port}/",
        ) as pid:
            bare = shared.load(pid, f"http://127.0.0.1:{port}/", bare_script, seconds, CONNECTIONS)
        (folder / "sqlite").mkdir()
        results["sqlite"] = bench_engine(
            shared.eventapp_env(f"sqlite:///{folder / 'bench.sqlite'}", folder / "sqlite"),
            folder / "sqlite",
            script,
            seconds,
            repeat,
        )
        if postgres:
            name = f"eventapp_bench_{secrets.token_hex(4)}"
            try:
                asyncio.run(shared._postgres_admin(f'CREATE DATABASE "{name}"'))
            except OSError:
                print("(no PostgreSQL server answers: skipped)")
            else:
                try:
                    (folder / "postgres").mkdir()
                    url = shared.POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
                    results["postgres"] = bench_engine(
                        shared.eventapp_env(url, folder / "postgres"),
                        folder / "postgres",
                        script,
                        seconds,
                        repeat,
                    )
                finally:
                    asyncio.run(
                        shared._postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    )

    def ratio(figures: dict | None) -> float | None:
        return round(figures["per_s"] / bare["per_s"], 3) if figures and bare["per_s"] else None

    print(
        f"check-in: one uvicorn worker, wrk {CONNECTIONS} connections, best of {repeat} runs of "
        f"{seconds:g} s; 20 % of scans repeat a ticket (400 already_redeemed)\n"
    )
    header = ["req/s", "p50 ms", "p99 ms", "of bare", "cpu us", "admitted", "refused"]
    print(f"{'engine':<10}{'route':<32}" + "".join(f"{h:>9}" for h in header))
    rows = [("-", "GET / (bare Litestar)", bare)]
    rows += [(engine, "POST .../checkins (bearer)", f) for engine, f in results.items()]
    for engine, label, f in rows:
        share = ratio(f) if engine != "-" else 1.0
        values = [
            f["per_s"],
            f["p50_ms"],
            f["p99_ms"],
            f"{share:.2f}",
            f["cpu_us"],
            f.get("admitted", "-"),
            f.get("refused", "-"),
        ]
        print(f"{engine:<10}{label:<32}" + "".join(f"{v:>9}" for v in values))
    for engine, f in results.items():
        if f["requests"] * 0.8 > TICKETS:
            print(f"({engine}: more first scans than tickets, so more than 20 % were duplicates)")
    sqlite, pg = results["sqlite"], results.get("postgres")
    figures = {
        "bench": "checkin",
        "sqlite_ratio": ratio(sqlite),
        "postgres_ratio": ratio(pg),
        "sqlite_checkins_per_s": sqlite["per_s"],
        "sqlite_p99_ms": sqlite["p99_ms"],
        "postgres_p99_ms": pg["p99_ms"] if pg else None,
        "postgres_checkins_per_s": pg["per_s"] if pg else None,
        "bare_per_s": bare["per_s"],
        "errors": sum(f["errors"] for f in results.values()),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4, help="wrk duration per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per engine; the best counts")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    arguments = parser.parse_args()
    main(arguments.seconds, max(1, arguments.repeat), not arguments.no_postgres)
