"""Project-level checks: migrations match the models, and the production settings pass `check --deploy`."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_migrations_match_models():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_check_deploy_is_clean_with_production_settings():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 60 + "production-like-secret-key", "ALLOWED_HOSTS": "shop.example.com"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_serve_throttles_the_real_client_address_behind_its_proxy():
    """`make serve` binds 127.0.0.1 behind a TLS proxy; with TRUSTED_PROXY_COUNT left at 0 every client had the proxy's
    address, so anyone could lock everyone out. The default deployment trusts the one proxy's X-Forwarded-For."""
    result = subprocess.run(["make", "-n", "serve"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    gunicorn = [line for line in result.stdout.splitlines() if "gunicorn" in line]
    assert gunicorn and "TRUSTED_PROXY_COUNT=1" in gunicorn[0], result.stdout
    result = subprocess.run(["make", "-n", "serve", "TRUSTED_PROXY_COUNT=0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "TRUSTED_PROXY_COUNT=0" in [line for line in result.stdout.splitlines() if "gunicorn" in line][0]


def test_the_login_throttle_reads_the_address_the_trusted_proxy_saw():
    code = (
        "import django, os; django.setup(); from django.conf import settings; "
        "print(settings.AXES_IPWARE_PROXY_COUNT, settings.AXES_IPWARE_META_PRECEDENCE_ORDER[0])"
    )
    env = {**os.environ, "TRUSTED_PROXY_COUNT": "1", "DJANGO_SETTINGS_MODULE": "fulfillment.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["1", "HTTP_X_FORWARDED_FOR"], result.stderr
