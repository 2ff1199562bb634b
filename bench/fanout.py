"""Live hub fan-out: an organiser posts "delay 5 minutes"; how long until the last of N websocket
clients holds the change, against a bare `websockets` server calling `websockets.broadcast()`
with the same N and payload size in the same run.

    python bench/fanout.py [--clients 1000,5000,10000] [--rounds 5] [--loaders 4]

eventapp is served as `eventapp run` serves it (one uvicorn worker, SQLite, the demo event);
the clients are spread over several load-generator processes (open files are limited to 20,000
per process). Each round: every loader is armed with the version to wait for, the request is
sent, and each loader reports when its last client received the message; the round's time is
the latest of those, from the moment the request was sent (CLOCK_MONOTONIC is shared by every
process). Memory per connection: the server's RSS with N idle clients (after their snapshots)
less its RSS before they connected, over N. Only 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "asean-showcase"
ROUND_TIMEOUT_S = 60
CONNECT_TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------------------------------
# Load generators (separate processes)


def loader(pipe, url: str, count: int) -> None:
    asyncio.run(_loader(pipe, url, count))


async def _loader(pipe, url: str, count: int) -> None:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    state = {"target": None, "left": 0, "last": 0.0, "size": 0}
    done = asyncio.Event()
    gate = asyncio.Semaphore(100)
    sockets = []

    async def client() -> None:
        async with gate:
            ws = await connect(
                url, compression=None, max_size=None, open_timeout=120, ping_interval=None
            )
            await ws.recv()  # the snapshot (or the baseline's hello)
        sockets.append(ws)
        try:
            async for message in ws:
                target = state["target"]
                if target and target in message[:64]:
                    state["last"] = time.monotonic()
                    state["size"] = len(message)
                    state["left"] -= 1
                    if state["left"] == 0:
                        done.set()
        except Exception:  # noqa: BLE001 - a dropped client shows as a timeout
            pass

    tasks = [asyncio.create_task(client()) for _ in range(count)]
    while len(sockets) < count:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            pipe.send(("error", repr(failed[0].exception())))
            return
        await asyncio.sleep(0.05)
    pipe.send(("ready", count))
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "stop":
            break
        _, version = command
        done.clear()
        state.update(target=f'"version":{version},', left=count, last=0.0)
        pipe.send(("armed", version))
        try:
            await asyncio.wait_for(done.wait(), ROUND_TIMEOUT_S)
            pipe.send(("done", state["last"], state["size"]))
        except TimeoutError:
            pipe.send(("timeout", count - state["left"]))
    for ws in sockets:
        ws.transport.abort()
    for task in tasks:
        task.cancel()


class Loaders:
    def __init__(self, url: str, clients: int, processes: int) -> None:
        share = [
            clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
        ]
        self.pipes, self.procs = [], []
        for count in share:
            ours, theirs = mp.Pipe()
            proc = mp.Process(target=loader, args=(theirs, url, count), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        for pipe in self.pipes:
            if not pipe.poll(max(0.1, deadline - time.monotonic())):
                raise RuntimeError("load generators did not connect in time")
            answer = pipe.recv()
            if answer[0] != "ready":
                raise RuntimeError(f"a load generator failed: {answer}")

    def arm(self, version: int) -> None:
        for pipe in self.pipes:
            pipe.send(("arm", version))
        for pipe in self.pipes:
            assert pipe.recv()[0] == "armed"

    def collect(self, started: float) -> tuple[float, int]:
        latest, size = 0.0, 0
        for pipe in self.pipes:
            if not pipe.poll(ROUND_TIMEOUT_S + 5):
                raise RuntimeError("a load generator stopped answering")
            answer = pipe.recv()
            if answer[0] != "done":
                raise RuntimeError(f"clients missed the change: {answer}")
            latest, size = max(latest, answer[1]), answer[2]
        return (latest - started) * 1000, size

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send(("stop",))
        for proc in self.procs:
            proc.join(timeout=20)
            if proc.is_alive():
                proc.terminate()


# --------------------------------------------------------------------------------------------------
# The baseline: a bare websockets server broadcasting one payload


BASELINE = """
import asyncio, sys
from websockets.asyncio.server import broadcast, serve
CLIENTS = set()
async def handler(ws):
    if ws.request.path == "/control":
        async for message in ws:
            version, size = map(int, message.split())
            head = '{"type":"change","version":%d,"pad":"' % version
            broadcast(CLIENTS, head + "x" * max(0, size - len(head) - 2) + '"}')
            await ws.send("sent")
        return
    CLIENTS.add(ws)
    try:
        await ws.send('{"type":"hello"}')
        await ws.wait_closed()
    finally:
        CLIENTS.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None, max_size=None,
                     ping_interval=None, backlog=4096):
        print("ready", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def measure_baseline(clients: int, rounds: int, processes: int, size: int) -> tuple[list, float]:
    from websockets.sync.client import connect

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", BASELINE, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        before = rss_kib(server.pid)
        loaders = Loaders(f"ws://127.0.0.1:{port}/", clients, processes)
        loaders.wait_ready()
        memory = (rss_kib(server.pid) - before) / clients
        times = []
        with connect(f"ws://127.0.0.1:{port}/control") as control:
            for version in range(1, rounds + 1):
                loaders.arm(version)
                started = time.monotonic()
                control.send(f"{version} {size}")
                times.append(loaders.collect(started)[0])
                control.recv(timeout=ROUND_TIMEOUT_S)
        loaders.stop()
        return times, memory
    finally:
        server.terminate()
        server.wait(timeout=10)


# --------------------------------------------------------------------------------------------------
# eventapp


class App:
    def __init__(self, folder: Path) -> None:
        database = folder / "bench.sqlite"
        self.env = {
            **os.environ,
            "EVENTAPP_DATABASE_URL": f"sqlite:///{database}",
            "EVENTAPP_VAR_DIR": str(folder / "var"),
            "EVENTAPP_LOG_LEVEL": "warning",
        }
        self.env.pop("EVENTAPP_REDIS_URL", None)
        run = {"env": self.env, "check": True, "capture_output": True, "text": True}
        subprocess.run([sys.executable, "-m", "eventapp.cli", "migrate"], **run)
        seeded = subprocess.run([sys.executable, "-m", "eventapp.cli", "demo", "--json"], **run)
        login = next(r for r in json.loads(seeded.stdout) if r["role"] == "organiser")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eventapp.cli", "run", "--port", str(self.port)], env=self.env
        )
        self._wait_healthy()
        self.token = self.post(
            "/api/auth/tokens",
            {"email": login["email"], "password": login["password"], "label": "bench"},
        )["token"]
        programme = self.get(f"/api/events/{SLUG}/programme")
        first = programme["items"][0]
        self.stage, self.day = first["stage_id"], first["day"]

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("eventapp did not start")

    def _request(self, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    get = _request
    post = _request

    def version(self) -> int:
        return self.get(f"/api/events/{SLUG}/programme")["version"]

    def delay(self, version: int) -> None:
        self.post(
            f"/api/events/{SLUG}/programme/actions",
            {
                "version": version,
                "stage_id": self.stage,
                "day": self.day,
                "action": "delay",
                "minutes": 5,
            },
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def measure_app(app: App, clients: int, rounds: int, processes: int) -> tuple[list, float, int]:
    before = rss_kib(app.process.pid)
    loaders = Loaders(f"ws://127.0.0.1:{app.port}/ws/events/{SLUG}/programme", clients, processes)
    loaders.wait_ready()
    time.sleep(1)
    memory = (rss_kib(app.process.pid) - before) / clients
    times, size = [], 0
    for _ in range(rounds):
        version = app.version()
        loaders.arm(version + 1)
        started = time.monotonic()
        app.delay(version)
        elapsed, size = loaders.collect(started)
        times.append(elapsed)
    loaders.stop()
    time.sleep(2)  # let the server forget the clients before the next size
    return times, memory, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="1000,5000,10000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loaders", type=int, default=4)
    args = parser.parse_args()
    sizes = [int(n) for n in args.clients.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="eventapp-fanout-"))
    results = {}
    app = App(folder)
    try:
        for clients in sizes:
            processes = max(args.loaders, -(-clients // 15000))
            app_times, app_memory, size = measure_app(app, clients, args.rounds, processes)
            raw_times, raw_memory = measure_baseline(clients, args.rounds, processes, size)
            results[clients] = {
                "app": app_times,
                "raw": raw_times,
                "kib": app_memory,
                "raw_kib": raw_memory,
                "size": size,
            }
            app_median, raw_median = statistics.median(app_times), statistics.median(raw_times)
            print(
                f"{clients:>6} clients, {size} B: eventapp median {app_median:7.1f} ms "
                f"max {max(app_times):7.1f} | websockets.broadcast median {raw_median:7.1f} ms "
                f"max {max(raw_times):7.1f} | ratio {app_median / raw_median:4.2f} | "
                f"{app_memory:5.1f} KiB/conn (bare {raw_memory:4.1f})",
                flush=True,
            )
    finally:
        app.stop()
        shutil.rmtree(folder, ignore_errors=True)

    print()
    heads = ("app med", "app max", "raw med", "raw max")
    print(f"{'clients':>8} " + " ".join(f"{h:>9}" for h in heads), f"{'ratio':>6} {'KiB/conn':>9}")
    for clients, r in results.items():
        print(
            f"{clients:>8} {statistics.median(r['app']):9.1f} {max(r['app']):9.1f} "
            f"{statistics.median(r['raw']):9.1f} {max(r['raw']):9.1f} "
            f"{statistics.median(r['app']) / statistics.median(r['raw']):6.2f} {r['kib']:9.1f}"
        )
    largest = max(results)
    top = results[largest]
    ratio = lambda r: round(statistics.median(r["app"]) / statistics.median(r["raw"]), 3)  # noqa: E731
    print(
        json.dumps(
            {
                "bench": "fanout",
                "clients": largest,
                "app_ms": round(statistics.median(top["app"]), 1),
                "app_max_ms": round(max(top["app"]), 1),
                "raw_ms": round(statistics.median(top["raw"]), 1),
                "raw_max_ms": round(max(top["raw"]), 1),
                "ratio": ratio(top),
                "ratio_5000": ratio(results[5000]) if 5000 in results else None,
                "kib_per_connection": round(top["kib"], 1),
                "payload_bytes": top["size"],
            }
        )
    )


if __name__ == "__main__":
    main()
