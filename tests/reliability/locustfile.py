"""The soak's load (locust, headless, run by tests/reliability/test_soak.py against gunicorn on 127.0.0.1):

- associates (demo logins): the Open list, search, Report an Issue with Save;
- a store manager: the lists, Reject All of a tab, following its progress page;
- operations (the admin): the parked list and "Route again" for everything parked (route runs).

Every answer below 500 that the app gives on purpose (403 managers only, 409 someone was quicker, 422 fix the form) is a
success; a 5xx is a failure named by its status and whether it carried Retry-After, so the soak can count them.
"""

import itertools
import os
import random
import re

from locust import HttpUser, between, task

PASSWORD = os.environ.get("SOAK_PASSWORD", "demo1234")
ADMIN_PASSWORD = os.environ.get("SOAK_ADMIN_PASSWORD", "admin1234")
ASSOCIATES = itertools.cycle(["brooklyn", "manhattan", "queens", "jerseycity", "hoboken", "stamford", "edison"])
INTENDED = {200, 204, 302, 403, 404, 409, 422}
REPORT_URL = re.compile(r'action="(/items/(\d+)/report/)"')
BULK_URL = re.compile(r"/bulk-rejections/(\d+)/")
SEARCHES = ["tee", "mug", "#1", "Ada", "012", "sku", "brooklyn", "zz-nothing"]


def plain_http_cookies(jar):
    """Production cookies are Secure (the app sits behind a TLS proxy); this run talks plain HTTP on 127.0.0.1."""
    for cookie in jar:
        cookie.secure = False


def classify(response):
    status = response.status_code
    if status >= 500:
        response.failure(f"{status} {'with' if response.headers.get('Retry-After') else 'without'} Retry-After")
    elif status in INTENDED:
        response.success()
    else:
        response.failure(f"{status} unexpected")


class Dashboard(HttpUser):
    abstract = True
    wait_time = between(0.5, 2)

    def on_start(self):
        self.login()

    def login(self):
        self.client.get("/login/", name="/login/")
        plain_http_cookies(self.client.cookies)
        with self.client.post(
            "/login/", data={"username": self.username, "password": self.password, "csrfmiddlewaretoken": self.csrf()},
            name="/login/ (POST)", catch_response=True, allow_redirects=False,
        ) as response:
            if response.status_code == 302:
                response.success()
            elif response.status_code >= 500:
                classify(response)
            else:
                response.failure(f"login failed ({response.status_code})")

    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def get(self, url, name=None, htmx=False):
        headers = {"HX-Request": "true"} if htmx else {}
        plain_http_cookies(self.client.cookies)
        with self.client.get(url, name=name or url, headers=headers, catch_response=True, allow_redirects=False) as response:
            classify(response)
            if response.status_code == 302 and "/login/" in response.headers.get("Location", ""):
                self.login()
            return response

    def post(self, url, data, name=None, htmx=True):
        plain_http_cookies(self.client.cookies)
        headers = {"X-CSRFToken": self.csrf(), "Referer": f"{self.host}{url}"}
        if htmx:
            headers["HX-Request"] = "true"
        with self.client.post(url, data=data, name=name or url, headers=headers, catch_response=True, allow_redirects=False) as response:
            classify(response)
            return response


class Associate(Dashboard):
    weight = 6
    password = PASSWORD

    def on_start(self):
        self.username = next(ASSOCIATES)
        super().on_start()

    @task(3)
    def open_list(self):
        self.get("/orders/open/")

    @task(2)
    def search(self):
        self.get(f"/orders/open/?q={random.choice(SEARCHES)}", name="/orders/open/?q=", htmx=True)

    @task(2)
    def report_an_issue(self):
        page = self.get("/orders/open/")
        items = REPORT_URL.findall(page.text or "")
        if not items:
            return
        url, _ = random.choice(items)
        self.get(url, name="/items/[id]/report/", htmx=True)
        self.post(url, {"reason": random.choice(["DAMAGED", "MISMATCH", "NOT_IN_STOCK"]), "quantity": "1", "comment": "soak"},
                  name="/items/[id]/report/ (Save)")


class Manager(Dashboard):
    weight = 1
    fixed_count = 1
    username = "manager"
    password = PASSWORD

    @task(3)
    def lists(self):
        self.get("/orders/open/")
        self.get("/orders/in-progress/")

    @task(1)
    def reject_all(self):
        tab = random.choice(["open", "in-progress"])
        self.get(f"/orders/{tab}/reject-all/", name="/orders/[tab]/reject-all/", htmx=True)
        response = self.post(f"/orders/{tab}/reject-all/", {"reason": "INACTIVE_STORE"}, name="/orders/[tab]/reject-all/ (confirm)")
        found = BULK_URL.search(response.text or "")
        for _ in range(20):  # follow the progress page as the browser does, until it is finished
            if not found:
                return
            page = self.get(f"/bulk-rejections/{found.group(1)}/", name="/bulk-rejections/[id]/", htmx=True)
            if "every 1s" not in (page.text or ""):
                return
            self.wait()


class Operations(Dashboard):
    weight = 1
    fixed_count = 1
    username = "admin"
    password = ADMIN_PASSWORD

    @task(2)
    def parked(self):
        self.get("/operations/parked/")

    @task(1)
    def route_run(self):
        self.post("/operations/parked/route/", {"scope": "all"}, name="/operations/parked/route/ (all)")
