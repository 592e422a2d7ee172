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
