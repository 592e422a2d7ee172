"""The soak's own world: a throw-away PostgreSQL cluster (initdb in a temp dir, its own port, run as `postgres`; never
the shared server), the app under gunicorn on 127.0.0.1 with DEBUG off, and `manage.py run_worker` for the tasks.

Everything is started once per session and stopped at the end. Needs root (to run the cluster as `postgres`) and
PostgreSQL 15's binaries; the tests skip otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PYTHON = sys.executable
DATABASE = "sf_soak"


def pytest_collection_modifyitems(config, items):
    """The soak takes minutes and needs root: it runs when asked for (`make soak`, `-m reliability`), not by a plain run."""
    if "reliability" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="the soak runs with make soak (pytest -m reliability)")
    for item in items:
        if "reliability" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, every: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Cluster:
    """A PostgreSQL cluster of its own: start, stop, restart (the fault tests) and SQL for the checks."""

    def __init__(self, directory: Path, port: int):
        self.directory, self.port = directory, port
        self.data = directory / "data"
        self.log = directory / "postgres.log"

    def _as_postgres(self, *args: str, check=True, timeout=120):
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=check, capture_output=True, text=True, timeout=timeout)

    def init(self):
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def start(self):
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start",
            "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
        )

    def stop(self, mode="fast"):
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, down_seconds: float = 3.0):
        self.stop()
        time.sleep(down_seconds)
        self.start()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def sql(self, query: str, params=()):
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname={DATABASE}", autocommit=True) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="session")
def cluster():
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip("the soak needs root and PostgreSQL 15 binaries to run a throw-away cluster")
    directory = Path(tempfile.mkdtemp(prefix="sf-soak-pg-"))
    shutil.chown(directory, "postgres", "postgres")
    os.chmod(directory, 0o700)
    pg = Cluster(directory, free_port())
    try:
        pg.init()
        pg._as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", DATABASE)
        yield pg
    finally:
        pg.stop(mode="immediate")
        shutil.rmtree(directory, ignore_errors=True)


def app_env(cluster: Cluster) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="fulfillment.settings", DATABASE_URL=cluster.url, DEBUG="0", SECRET_KEY="soak-" + "x" * 50,
        SECURE_SSL_REDIRECT="0", ALLOWED_HOSTS="127.0.0.1,localhost", TASKS_BACKEND="database", CONN_MAX_AGE="60",
        # the default stale limit (120 s): a killed worker's Reject All must be resumed by its freed lease, not by age
        BULK_REJECTION_STALE_SECONDS="120", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
    )
    return env


def manage(env, *args, timeout=600):
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Process:
    """A child process (gunicorn, the worker) with its log in the temp dir; stop() = SIGTERM, kill() = kill -9."""

    def __init__(self, args, env, log: Path):
        self.args, self.env, self.log = args, env, log
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class App:
    def __init__(self, cluster: Cluster, env: dict, port: int, logs: Path):
        self.cluster, self.env, self.port, self.logs = cluster, env, port, logs
        self.base = f"http://127.0.0.1:{port}"
        self.gunicorn = Process(
            [PYTHON, "-m", "gunicorn", "fulfillment.wsgi", "-b", f"127.0.0.1:{port}", "-w", "3", "--timeout", "60",
             "--graceful-timeout", "5"], env, logs / "gunicorn.log",
        )
        self.worker = Process([PYTHON, "manage.py", "run_worker", "--interval", "0.5", "--sweep-every", "2"], env, logs / "worker.log")
        wait_for(lambda: self.healthz() == 200, 60, what="gunicorn to answer /healthz")

    def healthz(self) -> int:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def restart_worker(self):
        self.worker.start()

    def invariant(self) -> str:
        """tests.support.assert_inventory_invariant against the soak database: 'ok' or the failure."""
        code = "import django; django.setup(); from tests.support import assert_inventory_invariant; assert_inventory_invariant(); print('ok')"
        result = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        return result.stdout.strip() if result.returncode == 0 else (result.stderr.strip().splitlines() or ["failed"])[-1]


@pytest.fixture(scope="session")
def app(cluster):
    env = app_env(cluster)
    logs = cluster.directory.parent / f"{cluster.directory.name}-logs"
    logs.mkdir(exist_ok=True)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    manage(env, "seed_demo")
    manage(env, "seed_volume", "--facilities", "12", "--products", "300", "--orders", "3000", "--flagship-open", "2500",
           "--flagship-in-progress", "1200", "--rejections", "0")  # no report history needed
    manage(env, "shell", "-c", (
        "from django.contrib.auth import get_user_model; from fulfillment.models import FacilityMembership as M; "
        "from inventory.models import Facility; u, _ = get_user_model().objects.get_or_create(username='v001-manager'); "
        "u.set_password('demo1234'); u.save(); "
        "M.objects.get_or_create(user=u, facility=Facility.objects.get(code='V001'), defaults={'role': M.Role.MANAGER})"
    ))
    application = App(cluster, env, free_port(), logs)
    try:
        yield application
    finally:
        application.worker.stop()
        application.gunicorn.stop()
        shutil.rmtree(logs, ignore_errors=True)
