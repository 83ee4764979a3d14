"""Strict readers for environment variables.

Every reader names the variable in its error, so a bad deployment fails at start with a
message that says exactly what to fix instead of misbehaving later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    """Reads typed values from a mapping (``os.environ`` by default)."""

    def __init__(self, source: Mapping[str, str] | None = None) -> None:
        self.source = os.environ if source is None else source

    def _raw(self, name: str) -> str | None:
        value = self.source.get(name)
        return None if value is None else value.strip()

    def string(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def required_string(self, name: str, why: str) -> str:
        value = self._raw(name)
        if not value:
            raise ImproperlyConfigured(f"{name} must be set: {why}.")
        return value

    def required_csv_list(self, name: str, why: str) -> list[str]:
        items = self.csv_list(name)
        if not items:
            raise ImproperlyConfigured(f"{name} must be set (comma-separated): {why}.")
        return items

    def choice(self, name: str, default: str, *, choices: list[str]) -> str:
        value = self._raw(name) or default
        if value not in choices:
            raise ImproperlyConfigured(
                f"{name} must be one of {', '.join(choices)}, got {value!r}."
            )
        return value

    def dotted_path_or_choice(self, name: str, default: str, *, choices: list[str]) -> str:
        """One of ``choices``, or a ``package.module.Class`` path for a custom backend."""
        value = self._raw(name) or default
        parts = value.split(".")
        if value in choices or (len(parts) > 1 and all(part.isidentifier() for part in parts)):
            return value
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(choices)} or a dotted path to a class, "
            f"got {value!r}."
        )

    def production_choice(
        self,
        name: str,
        *,
        choices: list[str],
        development_default: str,
        development_only: set[str],
        production: bool,
        allow_dotted_path: bool = False,
    ) -> str:
        """A backend chosen by name. In development it has a default; in production it must be
        named, and never one of ``development_only`` (messages printed to a console or a folder
        reach no patient)."""
        value = self._raw(name) or ("" if production else development_default)
        if not value:
            raise ImproperlyConfigured(
                f"{name} must be set in production (DEBUG=false): one of "
                f"{', '.join(c for c in choices if c not in development_only)}."
            )
        if allow_dotted_path:
            value = self.dotted_path_or_choice(name, value, choices=choices)
        else:
            value = self.choice(name, value, choices=choices)
        if production and value in development_only:
            raise ImproperlyConfigured(
                f"{name}={value} is for development only: in production (DEBUG=false) choose "
                f"{', '.join(c for c in choices if c not in development_only)}."
            )
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name} must be a boolean (one of true/false, 1/0, yes/no, on/off), got {value!r}."
        )

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._raw(name)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}.") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}.")
        return number

    def csv_list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self._raw(name)
        if not value:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def time_zone(self, name: str, default: str) -> str:
        value = self._raw(name) or default
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ImproperlyConfigured(
                f"{name} must be an IANA time zone such as Asia/Seoul, got {value!r}."
            ) from None
        return value

    def database(self, name: str, default: str) -> dict[str, Any]:
        value = self._raw(name) or default
        scheme = urlsplit(value).scheme
        if scheme not in {"postgres", "postgresql", "sqlite"}:
            raise ImproperlyConfigured(
                f"{name} must be a postgres:// or sqlite:/// URL, got scheme {scheme!r}."
            )
        try:
            config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
        except ValueError as error:
            raise ImproperlyConfigured(f"{name} is not a valid database URL: {error}") from None
        if scheme != "sqlite" and not config.get("NAME"):
            raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://host/clinic.")
        return dict(config)

    def broker_url(self, name: str, default: str) -> str:
        value = self._raw(name) or default
        scheme = urlsplit(value).scheme
        if scheme not in {"redis", "rediss", "filesystem", "memory"}:
            raise ImproperlyConfigured(
                f"{name} must be a redis://, rediss://, filesystem:// or memory:// URL, "
                f"got {value!r}."
            )
        return value


env = Env()
