"""Watchers of a running study: N pollers of its ``data.json`` (one poll every 2 s each), real stack.

Starts ``manage.py runstack`` (migrations, gunicorn as runstack configures it, two RQ workers, the
reconciler) on a fresh database (SQLite file, or a PostgreSQL database made for the run and dropped
after) and this machine's Redis (database 5, or ``--redis``), then:

1. starts a ZDT1 study whose evaluations take ``--delay`` seconds each (so it runs all along) and
   measures its speed without watchers for ``--quiet`` seconds (evaluations and iterations per minute);
2. runs ``--pollers`` watchers for ``--seconds`` seconds: each has its own logged-in session cookie
   and its own keep-alive connection, starts with no version (the whole dashboard) and then polls
   ``?since=<the version it got>`` every ``--interval`` seconds on a fixed cadence (right after the
   previous answer when that came late). The server's ``X-Poll-Interval`` is recorded, not obeyed,
   so the load is the one asked for. A request counts as an error on a connection failure, a
   30 s time-out or any status but 200 and 304. Every 5 s a separate client times the login page;
3. measures the study's speed during the load, and the login page right after it.

With ``--obey`` the watchers wait as long as ``X-Poll-Interval`` asks (what the page does), to see
what the server's stretching buys; without it the load is exactly the one asked for.

Reported: latency p50/p95/p99 (ms) of every poll and of the steady state (polls sent after the
first 15 s, when all watchers arrived at once and asked for everything), errors by kind,
requests/s, 200 vs 304 counts, the load average, CPU seconds of the web server, the RQ workers and
this load generator during each phase.
Only 127.0.0.1 is contacted. Results go to benchmarks/results/dashboard_load.json (one entry per
database, number of pollers and --obey, replaced on each run).

    .venv/bin/python benchmarks/dashboard_load.py --database sqlite
    .venv/bin/python benchmarks/dashboard_load.py --database postgres   # HYTNAS_TEST_POSTGRES_URL's server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "dashboard_load.json"
HOST = "127.0.0.1"
TIMEOUT = 30.0
STEADY_AFTER = 15.0
"""Seconds after the load starts (every watcher asking for everything at once) before the steady state."""
VERSION = re.compile(rb'"version": "([0-9.]+)"')
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pollers", type=int, default=500)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between two polls of a watcher")
    parser.add_argument("--seconds", type=float, default=90.0, help="length of the load phase")
    parser.add_argument("--quiet", type=float, default=45.0, help="length of the phase without watchers")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per evaluation of the study")
    parser.add_argument(
        "--obey", action="store_true", help="wait as long as X-Poll-Interval asks, as the page does"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "HYTNAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/hytnas_dash"
        ),
        help="a PostgreSQL URL; the run makes (and drops) the database <its name>_bench on that server",
    )
    args = parser.parse_args()
    if not 1 <= args.pollers <= 2000 or not 10 <= args.seconds <= 600 or not 10 <= args.quiet <= 600:
        parser.error("bounded run: 1-2000 pollers, 10-600 s per phase")
    return args


# --- processes and CPU time ---------------------------------------------------------------------


def descendants(root: int) -> dict[int, str]:
    """``pid -> command line`` of every process below ``root`` (from /proc)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = commands.get(pid, "")
                frontier.append(pid)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime + stime, and cutime + cstime: the work horses RQ forks per job and has waited for.
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def role(command: str) -> str:
    if "gunicorn" in command:
        return "web"
    if "rqworker" in command:
        return "rq_workers"
    if "reconcile" in command:
        return "reconciler"
    return "other"


def cpu_by_role(root: int) -> dict[str, float]:
    totals: Counter[str] = Counter()
    for pid, command in descendants(root).items():
        totals[role(command)] += cpu_seconds(pid)
    totals["runstack"] += cpu_seconds(root)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals["load_generator"] = usage.ru_utime + usage.ru_stime
    return dict(totals)


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: round(after.get(key, 0.0) - before.get(key, 0.0), 2) for key in sorted({*before, *after})}


# --- the stack ----------------------------------------------------------------------------------


def postgres_database(base_url: str, create: bool) -> str:
    """Create (or drop) ``<name>_bench`` on ``base_url``'s server; returns its URL."""
    import psycopg

    parts = urlsplit(base_url)
    name = (parts.path.lstrip("/") or "hytnas") + "_bench"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def start_stack(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "manage.py", "runstack", "--port", str(port), "--workers", "2"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 240
    while b"Browse to" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_stack(process)
            raise RuntimeError(f"runstack did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    return process


def stop_stack(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (runstack stops its children in order), then SIGKILL to its process group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def set_up_study(delay: float, pollers: int) -> tuple[int, list[str]]:
    """A started ZDT1 study of a new user, and ``pollers`` logged-in session keys of that user."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.cached_db import SessionStore

    from hytnas_web.studies import services
    from search_engine.config import ComponentSpec
    from search_engine.setups import study_config

    config = study_config("zdt1", "hytnas", budget=100_000, n_init=10, batch_size=5, n_var=4)
    config = config.with_changes(solver=ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 5}))
    data = config.to_dict()
    data["evaluator"]["params"]["delay"] = delay
    from search_engine.config import StudyConfig

    owner = User.objects.create_user("watcher", password=secrets.token_urlsafe(16))
    study = services.save_study(owner, "dashboard load", StudyConfig.from_dict(data))
    services.start_study(study)
    keys = []
    for _ in range(pollers):
        # What django.contrib.auth.login stores: the same session a browser gets after signing in.
        session = SessionStore()
        session[SESSION_KEY] = str(owner.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = owner.get_session_auth_hash()
        session.create()
        assert session.session_key is not None
        keys.append(session.session_key)
    return study.pk, keys


def study_speed(study_id: int, seconds: float) -> dict[str, float]:
    """Evaluations and finished iterations per minute of the study over the next ``seconds``."""
    from hytnas_web.studies.models import Evaluation, Iteration

    def counts() -> tuple[int, int]:
        done = Evaluation.objects.filter(study_id=study_id, status=Evaluation.Status.DONE).count()
        return done, Iteration.objects.filter(study_id=study_id, status=Iteration.Status.DONE).count()

    start, tick = counts(), time.monotonic()
    time.sleep(seconds)
    end, elapsed = counts(), time.monotonic() - tick
    return {
        "evaluations_per_minute": round((end[0] - start[0]) * 60 / elapsed, 1),
        "iterations_per_minute": round((end[1] - start[1]) * 60 / elapsed, 1),
        "evaluations_done": end[0],
    }


# --- the load generator -------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.steady: list[float] = []  # latencies of polls sent after the first STEADY_AFTER seconds
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.intervals: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.connects = 0
        self.bytes = 0
        self.first_ms: list[float] = []


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def poller(
    number: int,
    args: argparse.Namespace,
    port: int,
    path: str,
    cookie: str,
    start: float,
    stop: float,
    stats: Stats,
) -> None:
    loop = asyncio.get_running_loop()
    next_at = start + args.interval * number / args.pollers  # spread over one interval
    since = ""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    first = True
    while True:
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        if loop.time() >= stop:
            break
        query = f"?since={since}" if since else ""
        request = (
            f"GET {path}{query} HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: sessionid={cookie}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()
        tick = loop.time()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), TIMEOUT)
                stats.connects += 1
            assert reader is not None
            writer.write(request)
            status, headers, body = await asyncio.wait_for(read_response(reader), TIMEOUT)
        except TimeoutError:
            stats.errors["timeout"] += 1
            status, headers, body = 0, {}, b""
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            stats.errors[type(error).__name__] += 1
            status, headers, body = 0, {}, b""
        elapsed_ms = (loop.time() - tick) * 1e3
        if status == 0:
            if writer is not None:
                writer.close()
            reader = writer = None
        else:
            stats.latencies.append(elapsed_ms)
            if tick >= start + STEADY_AFTER:
                stats.steady.append(elapsed_ms)
            stats.statuses[str(status)] += 1
            stats.intervals[headers.get("x-poll-interval", "none")] += 1
            stats.answers[headers.get("x-dashboard-answer", "none")] += 1
            stats.bytes += len(body)
            if first:
                stats.first_ms.append(elapsed_ms)
                first = False
            if status == 200:
                found = VERSION.search(body)
                since = found.group(1).decode() if found else ""
            elif status != 304:
                stats.errors[f"http_{status}"] += 1
            if headers.get("connection", "").lower() == "close" and writer is not None:
                writer.close()
                reader = writer = None
        wait = args.interval
        if args.obey and status:
            wait = max(wait, float(headers.get("x-poll-interval", "0") or 0))
        next_at = max(next_at + wait, loop.time())
    if writer is not None:
        writer.close()


async def login_page_probe(port: int, stop: float, samples: list[float]) -> None:
    """Time the login page every 5 s on its own connection (does the site answer other pages?)."""
    loop = asyncio.get_running_loop()
    while loop.time() < stop:
        samples.append(await time_login_page(port))
        await asyncio.sleep(5.0)


async def time_login_page(port: int) -> float:
    tick = asyncio.get_running_loop().time()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), TIMEOUT)
        writer.write(
            f"GET /accounts/login/ HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        status, _, _ = await asyncio.wait_for(read_response(reader), TIMEOUT)
        writer.close()
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        status = 0
    elapsed = (asyncio.get_running_loop().time() - tick) * 1e3
    return round(elapsed, 1) if status == 200 else -1.0


async def run_load(
    args: argparse.Namespace, port: int, path: str, cookies: list[str]
) -> tuple[Stats, list[float]]:
    stats, login_samples = Stats(), []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    stop = start + args.seconds
    tasks = [poller(i, args, port, path, cookie, start, stop, stats) for i, cookie in enumerate(cookies)]
    await asyncio.gather(*tasks, login_page_probe(port, stop, login_samples))
    return stats, login_samples


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))], 1)


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="hytnas-dashload-"))
    if args.database == "postgres":
        database_url = postgres_database(args.postgres, create=True)
    else:
        database_url = f"sqlite:///{work / 'bench.sqlite3'}"
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "HYTNAS_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        "DJANGO_SETTINGS_MODULE": "hytnas_web.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(
        {key: env[key] for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    )
    from hytnas_web.lib.embedded_redis import free_port

    port = free_port()
    log = work / "runstack.log"
    stack = start_stack(env, port, log)
    try:
        import django

        django.setup()
        from django.db import connections
        from django.urls import reverse

        study_id, cookies = set_up_study(args.delay, args.pollers)
        path = reverse("studies-dashboard-data", args=[study_id])
        time.sleep(15)  # the first iterations: imports, the initial design
        load_before = os.getloadavg()
        cpu_0 = cpu_by_role(stack.pid)
        quiet = study_speed(study_id, args.quiet)
        cpu_1 = cpu_by_role(stack.pid)
        load_quiet = os.getloadavg()
        connections.close_all()
        tick = time.monotonic()
        speed_during: dict[str, float] = {}

        async def load_and_speed() -> tuple[Stats, list[float]]:
            speed_task = asyncio.get_running_loop().run_in_executor(
                None, lambda: study_speed(study_id, args.seconds - 5)
            )
            result = await run_load(args, port, path, cookies)
            speed_during.update(await speed_task)
            return result

        stats, login_samples = asyncio.run(load_and_speed())
        wall = time.monotonic() - tick
        load_during = os.getloadavg()
        cpu_2 = cpu_by_role(stack.pid)
        login_after = asyncio.run(time_login_page(port))
        requests = sum(stats.statuses.values())
        entry = {
            "database": args.database,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "settings": {
                "pollers": args.pollers,
                "interval_s": args.interval,
                "load_seconds": args.seconds,
                "quiet_seconds": args.quiet,
                "evaluation_delay_s": args.delay,
                "obey_x_poll_interval": args.obey,
                "web": {
                    "workers": os.environ.get("HYTNAS_WEB_WORKERS", "default"),
                    "threads": os.environ.get("HYTNAS_WEB_THREADS", "default"),
                    "nice": os.environ.get("HYTNAS_WEB_NICE", "default"),
                },
            },
            "requests": requests,
            "requests_per_s": round(requests / wall, 1),
            "asked_per_s": round(args.pollers / args.interval, 1),
            "latency_ms": {
                "p50": percentile(stats.latencies, 50),
                "p95": percentile(stats.latencies, 95),
                "p99": percentile(stats.latencies, 99),
                "max": round(max(stats.latencies), 1) if stats.latencies else None,
                "mean": round(statistics.fmean(stats.latencies), 1) if stats.latencies else None,
                "first_poll_p95": percentile(stats.first_ms, 95),
            },
            "steady_latency_ms": {
                "after_s": STEADY_AFTER,
                "n": len(stats.steady),
                "p50": percentile(stats.steady, 50),
                "p95": percentile(stats.steady, 95),
                "p99": percentile(stats.steady, 99),
            },
            "errors": dict(stats.errors),
            "n_errors": sum(stats.errors.values()),
            "statuses": dict(stats.statuses),
            "x_poll_interval": dict(stats.intervals),
            "answers": dict(stats.answers),
            "connections_opened": stats.connects,
            "mean_answer_bytes": round(stats.bytes / max(1, requests)),
            "login_page_ms_during": login_samples,
            "login_page_ms_after": login_after,
            "study_quiet": quiet,
            "study_under_load": speed_during,
            "load_average": {
                "before": [round(v, 2) for v in load_before],
                "after_quiet": [round(v, 2) for v in load_quiet],
                "after_load": [round(v, 2) for v in load_during],
            },
            "cpu_seconds_quiet": cpu_delta(cpu_0, cpu_1),
            "cpu_seconds_load": cpu_delta(cpu_1, cpu_2),
        }
    finally:
        stop_stack(stack)
        if args.database == "postgres":
            from django.db import connections

            connections.close_all()
            postgres_database(args.postgres, create=False)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    key = f"{args.database}-{args.pollers}-pollers" + ("-obeying" if args.obey else "")
    if os.environ.get("HYTNAS_WEB_NICE", "5") != "5":  # not the default
        key += f"-nice{os.environ['HYTNAS_WEB_NICE']}"
    results[key] = entry
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
