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


# What a production deployment sets besides its channels (SECRET_KEY, ALLOWED_HOSTS).
PRODUCTION = {"DEBUG": "false", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "clinic.example.com"}
# Real channels: a mail server and an SMS gateway (neither is contacted at start).
CHANNELS = {
    "MAILER": "smtp",
    "SMTP_HOST": "smtp.example.com",
    "DEFAULT_FROM_EMAIL": "clinic@example.com",
    "SMS_GATEWAY": "webhook",
    "SMS_WEBHOOK_URL": "https://sms.example.com/send",
    "SMS_WEBHOOK_SECRET": "w" * 32,
}


def test_production_with_its_settings_starts(tmp_path: Path) -> None:
    result = start_django(tmp_path, **PRODUCTION, **CHANNELS)

    assert result.returncode == 0, result.stderr


def test_production_with_solapi_starts(tmp_path: Path) -> None:
    solapi = {
        "SMS_GATEWAY": "solapi",
        "SOLAPI_API_KEY": "NCSTESTKEY",
        "SOLAPI_API_SECRET": "x" * 32,
        "SOLAPI_SENDER": "02-930-2266",
    }
    result = start_django(tmp_path, **PRODUCTION, **{**CHANNELS, **solapi})

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (
            "SMS_GATEWAY",
            "SMS_GATEWAY must be set in production (DEBUG=false): one of solapi, webhook",
        ),
        ("SMTP_HOST", "SMTP_HOST must be set: MAILER=smtp needs the mail server's host name"),
        ("DEFAULT_FROM_EMAIL", "DEFAULT_FROM_EMAIL must be set"),
        ("SMS_WEBHOOK_URL", "SMS_WEBHOOK_URL must be set: SMS_GATEWAY=webhook needs"),
        ("SMS_WEBHOOK_SECRET", "SMS_WEBHOOK_SECRET must be set: SMS_GATEWAY=webhook needs"),
    ],
)
def test_production_without_a_channel_setting_refuses_to_start_naming_it(
    tmp_path: Path, missing: str, message: str
) -> None:
    channels = {name: value for name, value in CHANNELS.items() if name != missing}

    result = start_django(tmp_path, **PRODUCTION, **channels)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr


@pytest.mark.parametrize(
    ("solapi_missing"), ["SOLAPI_API_KEY", "SOLAPI_API_SECRET", "SOLAPI_SENDER"]
)
def test_solapi_without_its_credentials_refuses_to_start_naming_them(
    tmp_path: Path, solapi_missing: str
) -> None:
    solapi = {"SOLAPI_API_KEY": "k", "SOLAPI_API_SECRET": "s", "SOLAPI_SENDER": "0212345678"}
    del solapi[solapi_missing]

    result = start_django(tmp_path, **PRODUCTION, **{**CHANNELS, "SMS_GATEWAY": "solapi", **solapi})

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {solapi_missing} must be set: SMS_GATEWAY=solapi" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAILER", "console"),
        ("MAILER", "file"),
        ("SMS_GATEWAY", "console"),
        ("SMS_GATEWAY", "file"),
    ],
)
def test_production_refuses_the_development_channels(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = start_django(tmp_path, **PRODUCTION, **{**CHANNELS, variable: value})

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {variable}={value} is for development only" in result.stderr


def test_a_worker_with_production_settings_and_no_gateway_refuses_to_start(
    tmp_path: Path,
) -> None:
    channels = {name: value for name, value in CHANNELS.items() if name != "SMS_GATEWAY"}
    environment = {
        "PATH": os.environ["PATH"],
        "VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "memory://",
        **PRODUCTION,
        **channels,
    }
    result = subprocess.run(
        [sys.executable, "-m", "celery", "--app", "clinic", "worker", "--pool", "solo"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "SMS_GATEWAY must be set in production" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("CLINIC_TIME_ZONE", "Mars/Olympus", "CLINIC_TIME_ZONE must be an IANA time zone"),
        ("CELERY_BROKER_URL", "amqp://guest@localhost//", "CELERY_BROKER_URL must be a redis://"),
        ("SMTP_PORT", "twenty-five", "SMTP_PORT must be a whole number"),
        ("MAILER", "pigeon", "MAILER must be one of console, file, smtp"),
        (
            "SMS_GATEWAY",
            "carrier pigeon",
            "SMS_GATEWAY must be one of solapi, webhook, console, file or a dotted path",
        ),
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
