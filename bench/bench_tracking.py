"""tracking: the public tracking endpoints under load, and whether every acknowledged hit is stored.

A real `leadwell serve` (uvicorn, no in-process worker, no access log) on a fresh database is driven
by wrk over loopback with a mix of pre-signed open pixels, click redirects and read beacons, in
equal parts. The baseline is the same server, in the same run, serving a small static file: the
cheapest thing it does. Then the counts: responses wrk got 2xx/3xx for against rows in
``tracking_hits``; and once more with the server SIGKILLed halfway through a run of the exact-count
load generator (``bench/tracking_load.py``), restarted, and its rows counted.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Iterator

import httpx

from bench.harness import Context, Measure, benchmark
from bench.tracking_load import Request, Tally, drive
from bench.tracking_server import (
    Served,
    run_wrk,
    seed_requests,
    settled_hits,
    tracking_server,
    write_requests,
)

FULL_SECONDS = 60
FULL_CONTACTS = 3_000
CONNECTIONS = 32
KILL_CONNECTIONS = 16
BASELINE_PATH = "/static/leadwell.js"
# Targets on value / baseline; see bench/README.md.
RATE_TARGET = 0.5  # tracked hits/s at least half the static file's requests/s
P99_TARGET = 3.0  # p99 at most three times the static file's
KEPT_TARGET = 1.0  # every acknowledged hit stored (stored / acknowledged ≥ 1)
# The absolute goal on a 2-core machine, printed alongside the ratios.
GOAL_RATE = 2_000
GOAL_P99_MS = 50.0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _throughput(ctx: Context, secret: str, seconds: int) -> Iterator[Measure]:
    with ctx.fresh_database() as url:
        requests = seed_requests(url, secret, ctx.size(FULL_CONTACTS, minimum=30))
        requests_file = write_requests(requests, ctx.workdir / f"tracking-{ctx.database}.tsv")
        with tracking_server(url, secret, ctx.workdir) as served:
            baseline = run_wrk(served.base_url + BASELINE_PATH, seconds, CONNECTIONS)
            load = run_wrk(served.base_url, seconds, CONNECTIONS, requests_file)
            stored = settled_hits(url)
    met = load.rate >= GOAL_RATE and load.p99_ms < GOAL_P99_MS
    _log(
        f"  tracking on {ctx.database}: {load.rate:,.0f} hits/s, p99 {load.p99_ms:.1f} ms "
        f"(goal ≥ {GOAL_RATE:,}/s, p99 < {GOAL_P99_MS:g} ms: {'met' if met else 'NOT met'}); "
        f"static file {baseline.rate:,.0f}/s, p99 {baseline.p99_ms:.1f} ms; "
        f"{load.acknowledged:,} acknowledged, {stored:,} stored, {load.not_ok} refused, "
        f"{load.socket_errors} socket errors; load average {_load_average()}"
    )
    yield Measure("tracking_rate", load.rate, "hits/s", baseline.rate, RATE_TARGET)
    yield Measure("tracking_p99", load.p99_ms, "ms", baseline.p99_ms, P99_TARGET, better="lower")
    yield Measure("tracking_kept", stored, "hits", max(1, load.acknowledged), KEPT_TARGET)


async def _load_then_kill(served: Served, requests: list[Request], seconds: float) -> Tally:
    stop = asyncio.Event()
    load = asyncio.create_task(drive("127.0.0.1", served.port, requests, KILL_CONNECTIONS, stop))
    await asyncio.sleep(seconds)
    served.process.kill()  # SIGKILL: no shutdown, no flush, nothing but what was committed
    tally = await load
    stop.set()
    return tally


def _killed(ctx: Context, secret: str, seconds: int) -> Iterator[Measure]:
    with ctx.fresh_database() as url:
        requests = seed_requests(url, secret, ctx.size(FULL_CONTACTS, minimum=30))
        with tracking_server(url, secret, ctx.workdir) as served:
            tally = asyncio.run(_load_then_kill(served, requests, max(1.0, seconds / 2)))
            port = served.port
        with tracking_server(url, secret, ctx.workdir, port=port) as restarted:
            alive = httpx.get(restarted.base_url + requests[0].path).status_code
            stored = settled_hits(url) - (1 if alive == 200 else 0)
    lost = max(0, tally.acknowledged - stored)
    _log(
        f"  SIGKILL on {ctx.database}: {tally.acknowledged:,} acknowledged before the kill, "
        f"{stored:,} stored after restart, {lost} lost; statuses {dict(sorted(tally.statuses.items()))}"
    )
    yield Measure("tracking_kept_after_kill", stored, "hits", max(1, tally.acknowledged), KEPT_TARGET)


@benchmark("tracking")
def tracking(ctx: Context) -> list[Measure]:
    """Tracked hits per second and p99 against a static file, and zero lost hits, also across SIGKILL."""
    secret = secrets.token_urlsafe(32)
    seconds = ctx.size(FULL_SECONDS, minimum=2)
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    _log(f"  load average before: {_load_average()} ({os.cpu_count()} CPUs)")
    return [*_throughput(ctx, secret, seconds), *_killed(ctx, secret, seconds)]
