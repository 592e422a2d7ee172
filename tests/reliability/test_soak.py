"""The soak (`make soak`): load on gunicorn + PostgreSQL with locust, then the faults an operator meets.

1. 60 s of associates, a manager and route runs (locust, headless, bounded users): no 5xx; the inventory invariant holds.
2. The worker is killed (kill -9) in the middle of a Reject All and started again: every item is rejected exactly once,
   the summary is exact and the page shows it.
3. PostgreSQL restarts under load: no 500 (503 with Retry-After during the outage), no half-written data, and the app
   and the worker recover by themselves (a Reject All asked for around the restart finishes).

Each prints a row of the table that `make soak` shows: requests, 5xx, p50/p95 and the invariant.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from .conftest import PYTHON, ROOT, wait_for

pytestmark = pytest.mark.reliability
SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "60"))
SOAK_USERS = int(os.environ.get("SOAK_USERS", "12"))
ROWS: list[str] = []


def run_locust(app, *, seconds: int, users: int, name: str) -> subprocess.Popen:
    prefix = app.logs / name
    return subprocess.Popen(
        [PYTHON, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")), "--headless", "--only-summary",
         "-u", str(users), "-r", str(max(1, users // 3)), "-t", f"{seconds}s", "--stop-timeout", "5",
         "-H", app.base, "--csv", str(prefix), "--loglevel", "WARNING"],
        cwd=ROOT, env=app.env, stdout=(app.logs / f"{name}.log").open("ab"), stderr=subprocess.STDOUT,
    )


def locust_results(app, name: str) -> dict:
    with (app.logs / f"{name}_stats.csv").open() as f:
        total = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    errors: dict[str, int] = {}
    with (app.logs / f"{name}_failures.csv").open() as f:
        for row in csv.DictReader(f):
            error = re.sub(r"^CatchResponseError\(['\"](.*)['\"]\)$", r"\1", row["Error"])  # what classify() said
            errors[error] = errors.get(error, 0) + int(row["Occurrences"])
    five = {e: n for e, n in errors.items() if re.match(r"5\d\d ", e)}
    return {
        "requests": int(total["Request Count"]), "failures": int(total["Failure Count"]), "errors": errors,
        "5xx": sum(five.values()), "500": sum(n for e, n in five.items() if not e.startswith("503 with Retry-After")),
        "503": five.get("503 with Retry-After", 0), "p50": total["50%"], "p95": total["95%"],
    }


def report(name: str, results: dict, invariant: str):
    row = (f"| {name} | {results['requests']} | {results['5xx']} | {results['503']} | {results['p50']} | {results['p95']} "
           f"| {invariant} |")
    ROWS.append(row)
    print("\n| run | requests | 5xx | of which 503 + Retry-After | p50 ms | p95 ms | inventory invariant |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(ROWS))
    if results["errors"]:
        print(f"  failures of {name}: {results['errors']}")


class PlainHttpSession(requests.Session):
    """Production cookies are Secure (behind a TLS proxy); the soak talks plain HTTP to 127.0.0.1."""

    def request(self, *args, **kwargs):
        for cookie in self.cookies:
            cookie.secure = False
        return super().request(*args, **kwargs)


def session_for(app, username: str, password: str = "demo1234") -> requests.Session:
    s = PlainHttpSession()
    s.get(f"{app.base}/login/")
    r = s.post(f"{app.base}/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               allow_redirects=False)
    assert r.status_code == 302, r.text[:500]
    return s


def reject_all(app, s: requests.Session, tab: str) -> int:
    r = s.post(f"{app.base}/orders/{tab}/reject-all/", data={"reason": "INACTIVE_STORE"},
               headers={"X-CSRFToken": s.cookies["csrftoken"]}, allow_redirects=False)
    assert r.status_code == 302, r.text[:500]
    return int(re.search(r"/bulk-rejections/(\d+)/", r.headers["Location"]).group(1))


def job(app, pk: int) -> dict:
    (row,) = app.cluster.sql(
        "SELECT state, attempts, total_items, processed_items, rejected_items, skipped_items, parked_items, rerouted, error "
        "FROM fulfillment_bulkrejection WHERE id = %s", (pk,),
    )
    keys = ("state", "attempts", "total", "processed", "rejected", "skipped", "parked", "rerouted", "error")
    return dict(zip(keys, row))


def assert_job_exact(app, pk: int, facility_code: str):
    j = job(app, pk)
    assert j["state"] == "DONE", j
    assert j["processed"] == j["total"] and j["rejected"] + j["skipped"] == j["total"], j
    assert j["parked"] + sum(j["rerouted"].values()) == j["rejected"], j
    ((linked,),) = app.cluster.sql("SELECT count(*) FROM fulfillment_rejection WHERE bulk_rejection_id = %s", (pk,))
    assert linked == j["rejected"], (linked, j)
    # every item it set out with was rejected at that facility exactly once (by the job, or by an associate first)
    per_item = app.cluster.sql(
        "SELECT i.value::bigint, count(r.id) FROM fulfillment_bulkrejection b, jsonb_array_elements_text(b.item_ids) i "
        "LEFT JOIN fulfillment_rejection r ON r.order_item_id = i.value::bigint AND r.facility_id = "
        "(SELECT id FROM inventory_facility WHERE code = %s) WHERE b.id = %s GROUP BY 1", (facility_code, pk),
    )
    assert len(per_item) == j["total"] and {n for _, n in per_item} == {1}, [p for p in per_item if p[1] != 1][:10]
    return j


def assert_no_double_rejections(app):
    doubles = app.cluster.sql(
        "SELECT order_item_id, facility_id, count(*) FROM fulfillment_rejection GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 10"
    )
    assert not doubles, doubles


def test_load_soak(app):
    proc = run_locust(app, seconds=SOAK_SECONDS, users=SOAK_USERS, name="load")
    proc.wait(timeout=SOAK_SECONDS + 120)
    results = locust_results(app, "load")
    invariant = app.invariant()
    report(f"load {SOAK_SECONDS} s, {SOAK_USERS} users", results, invariant)
    assert results["requests"] > 0 and results["5xx"] == 0, results["errors"]
    assert not any(e.startswith("login failed") for e in results["errors"]), results["errors"]
    assert invariant == "ok"
    assert_no_double_rejections(app)


def test_worker_killed_mid_reject_all_resumes_and_rejects_each_item_once(app):
    manager = session_for(app, "v001-manager")
    pk = reject_all(app, manager, "open")
    # kill -9 once the first batch is committed and before the last
    wait_for(lambda: job(app, pk)["processed"] > 0, 120, every=0.02, what="the first batch")
    app.worker.kill()
    killed_at = time.monotonic()
    before = job(app, pk)
    assert before["state"] == "RUNNING" and 0 < before["processed"] < before["total"], before
    time.sleep(1)
    assert job(app, pk)["processed"] == before["processed"]  # nobody works on it now

    # Another worker resumes it at its first sweep: the database freed the killed worker's lease with its connection
    # (the stale limit is 120 s here, so age alone would take two minutes).
    app.restart_worker()
    wait_for(lambda: job(app, pk)["attempts"] == 2 and job(app, pk)["processed"] > before["processed"] or
             job(app, pk)["state"] == "DONE", 60, every=0.1, what="the resumed Reject All's next batch")
    resumed_after = time.monotonic() - killed_at
    print(f"\nkill -9 of run_worker: the next batch of its Reject All committed {resumed_after:.1f} s later "
          f"(another worker started 1 s after the kill)")
    assert resumed_after <= 10, resumed_after
    wait_for(lambda: job(app, pk)["state"] in ("DONE", "FAILED"), 180, every=0.5, what="the resumed Reject All")
    j = assert_job_exact(app, pk, "V001")
    assert j["attempts"] == 2, j
    page = manager.get(f"{app.base}/bulk-rejections/{pk}/").text
    assert "Reject All finished" in page and f"<dd>{j['rejected']} items</dd>" in page
    invariant = app.invariant()
    print(f"\nkill -9 after {before['processed']} of {before['total']} items: resumed, {j['rejected']} rejected once each, "
          f"{j['skipped']} skipped, {j['parked']} parked, re-routed {j['rerouted']}; invariant {invariant}")
    assert invariant == "ok"
    assert_no_double_rejections(app)


def test_postgres_restart_under_load_gives_503s_not_500s_and_everything_recovers(app):
    proc = run_locust(app, seconds=40, users=SOAK_USERS, name="restart")
    time.sleep(10)
    manager = session_for(app, "v001-manager")
    pk = reject_all(app, manager, "in-progress")  # a Reject All in flight around the restart
    outage = {}

    def probe():  # /healthz during the outage: 503 with Retry-After, never a 500
        codes = []
        while not outage.get("over"):
            try:
                r = requests.get(f"{app.base}/healthz", timeout=5)
                codes.append((r.status_code, r.headers.get("Retry-After")))
            except requests.RequestException as exc:  # gunicorn itself never goes away
                codes.append((0, str(exc)))
            time.sleep(0.1)
        outage["codes"] = codes

    wait_for(lambda: job(app, pk)["processed"] > 0, 120, every=0.02, what="the first batch")
    prober = threading.Thread(target=probe)
    prober.start()
    at_restart = job(app, pk)
    started = time.monotonic()
    app.cluster.restart(down_seconds=3)
    outage["seconds"] = time.monotonic() - started
    wait_for(lambda: app.healthz() == 200, 30, what="/healthz after the restart")
    outage["over"] = True
    prober.join()
    proc.wait(timeout=120)

    results = locust_results(app, "restart")
    assert app.worker.alive(), "the worker exited instead of reconnecting"
    wait_for(lambda: job(app, pk)["state"] in ("DONE", "FAILED"), 120, every=0.5, what="the Reject All after the restart")
    j = assert_job_exact(app, pk, "V001")
    assert 0 < at_restart["processed"] < at_restart["total"], at_restart  # it was mid-run when the database went away
    # the worker takes new work too
    after = reject_all(app, manager, "open")
    wait_for(lambda: job(app, after)["state"] == "DONE", 120, every=0.5, what="a Reject All asked for after the restart")
    invariant = app.invariant()
    report(f"PostgreSQL restart ({outage['seconds']:.1f} s) under load", results, invariant)
    codes = {c for c, _ in outage["codes"]}
    print(f"  /healthz during the restart: {sorted(codes)}; Reject All {pk}: {at_restart['processed']} of {at_restart['total']} "
          f"done at the restart, finished after {j['attempts']} attempt(s), {j['rejected']} rejected once each")
    print("  worker: " + " | ".join(line.strip()[20:] for line in (app.logs / "worker.log").read_text().splitlines() if "Database unavailable" in line or "Resumed" in line))
    assert 503 in codes and codes <= {200, 503}, outage["codes"]
    assert all(ra == "10" for c, ra in outage["codes"] if c == 503)
    assert results["500"] == 0, results["errors"]  # 5xx only as 503 + Retry-After
    assert invariant == "ok"
    assert_no_double_rejections(app)
