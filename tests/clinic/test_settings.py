"""Settings fail at start, naming the variable, when the environment is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clinic.env import Env

ROOT = Path(__file__).resolve().parents[2]


def start_django(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Start a fresh Django process with only the given variables (and PATH) set."""
    environment = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_embedded_defaults_start_with_nothing_set(tmp_path: Path) -> None:
    result = start_django(tmp_path)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/clinic", "not a url", "postgres://localhost:notaport/clinic"],
)
def test_malformed_database_url_fails_naming_the_variable(tmp_path: Path, url: str) -> None:
    result = start_django(tmp_path, DATABASE_URL=url)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL" in result.stderr


def test_production_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    result = start_django(tmp_path, DEBUG="false", ALLOWED_HOSTS="clinic.example.com")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start(tmp_path: Path) -> None:
    result = start_django(tmp_path, DEBUG="false", SECRET_KEY="s" * 50)

    assert result.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS must be set" in result.stderr


def test_production_with_its_settings_starts(tmp_path: Path) -> None:
    result = start_django(
        tmp_path, DEBUG="false", SECRET_KEY="s" * 50, ALLOWED_HOSTS="clinic.example.com"
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("CLINIC_TIME_ZONE", "Mars/Olympus", "CLINIC_TIME_ZONE must be an IANA time zone"),
        ("CELERY_BROKER_URL", "amqp://guest@localhost//", "CELERY_BROKER_URL must be a redis://"),
        ("SMTP_PORT", "twenty-five", "SMTP_PORT must be a whole number"),
        ("MAILER", "pigeon", "MAILER must be one of console, file, smtp"),
        ("SMS", "carrier pigeon", "SMS must be one of console, file or a dotted path"),
        ("LANGUAGE_CODE", "fr", "LANGUAGE_CODE must be one of en, ko"),
    ],
)
def test_bad_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    result = start_django(tmp_path, **{variable: value})

    assert result.returncode != 0
    assert message in result.stderr


def test_database_url_switches_to_postgresql() -> None:
    config = Env({"DATABASE_URL": "postgres://clinic:pw@db:5432/clinic"}).database(
        "DATABASE_URL", "sqlite:///x.sqlite3"
    )

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db", 5432, "clinic")


def test_embedded_default_is_sqlite_in_var_and_filesystem_broker(settings: Any) -> None:
    env = Env({})
    assert env.database("DATABASE_URL", "sqlite:////srv/var/clinic.sqlite3")["NAME"] == (
        "/srv/var/clinic.sqlite3"
    )
    assert env.broker_url("CELERY_BROKER_URL", "filesystem://") == "filesystem://"
    assert settings.TIME_ZONE == "Asia/Seoul"
    assert [code for code, _ in settings.LANGUAGES] == ["en", "ko"]
