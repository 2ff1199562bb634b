"""What does eventapp add to a request? Each route against a bare Litestar app served the same way.

One run, on SQLite and on PostgreSQL: the benchmark migrates a fresh database of each engine, seeds
the demo event, starts `eventapp run` (one uvicorn worker) on a free 127.0.0.1 port, and loads each
route with wrk (32 connections, a few seconds each). Beside it, a bare Litestar app answering a
constant, served by uvicorn with the very options `eventapp run` uses (`cli.uvicorn_options`),
is the ceiling every route is compared with. Routes:

- /health (pings the database);
- GET /api/events/asean-showcase, the public event read;
- GET /api/auth/me with a bearer token;
- POST /api/events/asean-showcase/stages with a bearer token, an authenticated write (a new stage).

Usage: python bench/requests.py [--seconds S] [--repeat N] [--connections C] [--no-postgres]
Needs wrk (apt-get install wrk). PostgreSQL: EVENTAPP_BENCH_POSTGRES (default
postgresql://postgres@127.0.0.1:5432/test); a database is made for the run and dropped after.
The last line is JSON: {"bench": "requests", "bare_per_s", "public_read_ratio", "auth_read_ratio",
"auth_write_ratio", "postgres_auth_read_ratio", "auth_read_p99_ms", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get(
    "EVENTAPP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
SLUG = "asean-showcase"

# wrk prints one JSON line when done; writes get a unique stage name per request.
WRK_SCRIPT = r"""
local counter = 0
local threads = {}
local method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN") or ""
local run_id = os.getenv("BENCH_RUN") or "x"

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.headers["Accept"] = "application/json"
  if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
  if method == "POST" then wrk.headers["Content-Type"] = "application/json" end
end

function request()
  if method == "POST" then
    counter = counter + 1
    local body = string.format('{"name": "s-%s-%s-%d", "capacity": 10}', run_id, id, counter)
    return wrk.format("POST", nil, nil, body)
  end
  return wrk.format(nil)
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in time")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def serving(command: list[str], env: dict, probe: str) -> Iterator[int]:
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_up(probe, process)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


REPEAT = 2


def load(
    pid: int,
    url: str,
    script: Path,
    seconds: float,
    connections: int,
    method: str = "GET",
    token: str = "",
) -> dict:
    """wrk on one route, best of REPEAT runs (other work on a shared machine only slows a run);
    also the server's CPU time per request, which other load disturbs less."""
    runs = [
        _load_once(pid, url, script, seconds, connections, method, token) for _ in range(REPEAT)
    ]
    return max(runs, key=lambda run: run["per_s"])


def _load_once(
    pid: int, url: str, script: Path, seconds: float, connections: int, method: str, token: str
) -> dict:
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_TOKEN": token,
        "BENCH_RUN": secrets.token_hex(3),
    }
    cpu_before = cpu_seconds(pid)
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    cpu = cpu_seconds(pid) - cpu_before
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "cpu_us": round(cpu / max(figures["requests"], 1) * 1e6),
        "per_s": round(figures["requests"] / figures["seconds"], 1),
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p99_ms": round(figures["p99_us"] / 1000, 2),
        "failed": figures["non2xx"] + figures["errors"],
    }


def call(url: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def eventapp_env(database_url: str, folder: Path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EVENTAPP_") or key == "EVENTAPP_BENCH_POSTGRES"
    }
    return {
        **env,
        "EVENTAPP_DATABASE_URL": database_url,
        "EVENTAPP_VAR_DIR": str(folder / "var"),
        "EVENTAPP_SECRET_KEY": secrets.token_urlsafe(32),
    }


def seed(env: dict) -> dict[str, tuple[str, str]]:
    for args in (["migrate"], ["demo", "--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "eventapp.cli", *args],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
    return {row["role"]: (row["email"], row["password"]) for row in json.loads(done.stdout)}


def bench_app(env: dict, script: Path, seconds: float, connections: int) -> dict[str, dict]:
    logins = seed(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "eventapp.cli", "run", "--port", str(port)]
    with serving(command, env, f"{base}/health") as pid:
        email, password = logins["organiser"]
        token = call(
            f"{base}/api/auth/tokens", {"email": email, "password": password, "label": "bench"}
        )["token"]
        return {
            "health": load(pid, f"{base}/health", script, seconds, connections),
            "public_read": load(pid, f"{base}/api/events/{SLUG}", script, seconds, connections),
            "auth_read": load(
                pid, f"{base}/api/auth/me", script, seconds, connections, token=token
            ),
            "auth_write": load(
                pid, f"{base}/api/events/{SLUG}/stages", script, seconds, connections, "POST", token
            ),
        }


def serve_bare(port: int) -> None:
    """The ceiling: a constant from Litestar, served exactly as `eventapp run` serves."""
    import uvicorn
    from litestar import Litestar, get

    from eventapp.cli import uvicorn_options
    from eventapp.settings import Settings

    @get("/")
    async def constant() -> dict:
        return {"ok": True}

    uvicorn.run(Litestar([constant]), **uvicorn_options(Settings(), port=port))


async def _postgres_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main(seconds: float, connections: int, postgres: bool) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        script = folder / "bench.lua"
        script.write_text(WRK_SCRIPT)
        port = free_port()
        bare_env = eventapp_env(f"sqlite:///{folder / 'bare.sqlite'}", folder)
        with serving(
            [sys.executable, __file__, "--serve-bare", str(port)],
            bare_env,
            f"http://127.0.0.1:{port}/",
        ) as pid:
            bare = load(pid, f"http://127.0.0.1:{port}/", script, seconds, connections)
        results["sqlite"] = bench_app(
            eventapp_env(f"sqlite:///{folder / 'bench.sqlite'}", folder / "sqlite"),
            script,
            seconds,
            connections,
        )
        if postgres:
            name = f"eventapp_bench_{secrets.token_hex(4)}"
            try:
                asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
            except OSError:
                print("(no PostgreSQL server answers: skipped)")
            else:
                try:
                    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
                    results["postgres"] = bench_app(
                        eventapp_env(url, folder / "postgres"), script, seconds, connections
                    )
                finally:
                    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def share(figures: dict) -> float:
        return round(figures["per_s"] / bare["per_s"], 2) if bare["per_s"] else 0.0

    print(
        f"requests: one uvicorn worker each, wrk {connections} connections, "
        f"best of {REPEAT} runs of {seconds:g} s a route\n"
    )
    header = ["req/s", "p50 ms", "p99 ms", "of bare", "cpu us", "failed"]
    print(f"{'engine':<9}{'route':<34}" + "".join(f"{h:>9}" for h in header))
    print(f"{'':<43}(cpu us: the server's CPU time per request; of bare: share of bare req/s)")
    labels = {
        "health": "GET /health",
        "public_read": f"GET /api/events/{SLUG}",
        "auth_read": "GET /api/auth/me (bearer)",
        "auth_write": "POST .../stages (bearer)",
    }
    rows = [("-", "GET / (bare Litestar)", bare)]
    for engine, routes in results.items():
        rows.extend((engine, labels[key], figures) for key, figures in routes.items())
    for engine, label, f in rows:
        values = [f["per_s"], f["p50_ms"], f["p99_ms"], f"{share(f):.2f}", f["cpu_us"], f["failed"]]
        print(f"{engine:<9}{label:<34}" + "".join(f"{v:>9}" for v in values))
    sqlite, pg = results["sqlite"], results.get("postgres")
    figures = {
        "bench": "requests",
        "bare_per_s": bare["per_s"],
        "public_read_ratio": share(sqlite["public_read"]),
        "auth_read_ratio": share(sqlite["auth_read"]),
        "auth_write_ratio": share(sqlite["auth_write"]),
        "postgres_auth_read_ratio": share(pg["auth_read"]) if pg else None,
        "auth_read_p99_ms": sqlite["auth_read"]["p99_ms"],
        "health_ratio": share(sqlite["health"]),
        "postgres_public_read_ratio": share(pg["public_read"]) if pg else None,
        "postgres_auth_write_ratio": share(pg["auth_write"]) if pg else None,
        "failed": sum(f["failed"] for _, _, f in rows),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-bare":
        serve_bare(int(sys.argv[2]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4, help="wrk duration per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per route; the best counts")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    arguments = parser.parse_args()
    REPEAT = max(1, arguments.repeat)
    main(arguments.seconds, arguments.connections, not arguments.no_postgres)
