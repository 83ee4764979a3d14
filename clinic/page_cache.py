"""Pages and API answers kept for a minute at most, and never past a committed change.

A clinic reads far more than it writes: receptionists keep Today and the calendar open and
reload them all day, patients reopen their schedule. Building such a page costs tens of
milliseconds of Python (rows, presenters, templates), so a built answer is kept under a key made
of everything it depends on:

- the **data version** (clinic/data_version.py), a counter in the database raised by every
  transaction that wrote to the clinic's tables, in the same commit, whichever way and in
  whichever process, so a change shows on the very next request;
- the **minute**, so what depends on the clock (the next free times, "overdue", the next
  session) is at most a minute behind it;
- the request: path and query string, user, language, the HTMX headers and ``Accept``; for
  pages also the CSRF cookie (a page carries CSRF tokens made from it).

Answers are kept per process in local memory: the version lives in the database, so each
process invalidates on its own, and nothing survives a restart. A page is not kept when the
request carries messages to show (they are shown once) or when the answer is not a plain 200.

Side effects of a read still happen on every request: access checks run before the cache is
asked, and what a view asks to be repeated (the patient access log) is replayed on a hit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.data_version import (
    Area,
    in_request,
    request_data_version,
    transaction_data_version,
)

CACHE_ALIAS = "pages"


# --- Keeping answers -----------------------------------------------------------------------------


@dataclass
class _Kept:
    status: int
    headers: list[tuple[str, str]]
    content: bytes = b""
    data: Any = None
    replays: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def replay_on_hit(request: HttpRequest | Request, function: str, **kwargs: Any) -> None:
    """Ask for ``function`` (a dotted path) to be called again, with the request and these
    arguments, whenever the answer being built is served from the cache."""
    django_request = request._request if isinstance(request, Request) else request
    replays: list[tuple[str, dict[str, Any]]] = django_request.__dict__.setdefault(
        "_page_cache_replays", []
    )
    replays.append((function, kwargs))


def _enabled() -> bool:
    return int(getattr(settings, "PAGE_CACHE_SECONDS", 0)) > 0


def _key(request: HttpRequest, user_pk: object, *, page: bool) -> str | None:
    parts = [
        str(request_data_version()),
        str(int(timezone.now().timestamp()) // 60),
        request.build_absolute_uri(),  # pages may print absolute links (the calendar feed)
        str(user_pk),
        translation.get_language() or "",
        request.headers.get("Accept", ""),
        *sorted(f"{k}={v}" for k, v in request.headers.items() if k.lower().startswith("hx-")),
    ]
    if page:
        csrf = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
        if not csrf:
            return None  # the answer will set the cookie its tokens are made from
        parts.append(csrf)
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=20).hexdigest()
    return f"answer:{'page' if page else 'api'}:{digest}"


def _replay(request: HttpRequest, kept: _Kept) -> None:
    for function, kwargs in kept.replays:
        import_string(function)(request=request, **kwargs)


def _pending_messages(request: HttpRequest) -> int:
    return len(get_messages(request)) if hasattr(request, "_messages") else 0


def _keep(key: str, request: HttpRequest, headers: list[tuple[str, str]], **answer: Any) -> None:
    """Keep a 200 answer (``content`` or ``data``) with what to replay when it is served."""
    kept = _Kept(
        status=200,
        headers=headers,
        replays=request.__dict__.get("_page_cache_replays", []),
        **answer,
    )
    caches[CACHE_ALIAS].set(key, kept, settings.PAGE_CACHE_SECONDS)


View = Callable[..., HttpResponse]
_MISSING = object()


def kept_value[T](name: str, build: Callable[[], T], *, area: Area = Area.ALL) -> T:
    """A value read from the database, kept in this process while the version of ``area`` (the
    tables it is read from) stays the same, and no longer than pages are kept: for what many
    requests read, such as the logged-in user with their roles or the clinic calendar.

    ``build`` runs every time outside a request and with kept pages off. Inside a transaction a
    service that locks rows before it checks them (a booking against the calendar) must see
    what was committed before its locks, not the version its request began with: values are
    kept there by the version the transaction reads, after its locks, and built while it has
    changed their area itself (clinic/data_version.py). None (nothing found) is not kept, so
    lookups by guessed keys cannot fill the cache."""
    if not (_enabled() and in_request()):
        return build()
    if connection.in_atomic_block:
        version = transaction_data_version(area)
    else:
        version = request_data_version(area)
    if version is None:
        return build()
    key = _value_key(name, area, version)
    found = caches[CACHE_ALIAS].get(key, _MISSING)
    if found is not _MISSING:
        return cast(T, found)
    value = build()
    if value is not None:
        caches[CACHE_ALIAS].set(key, value, settings.PAGE_CACHE_SECONDS)
    return value


def _value_key(name: str, area: Area, version: int) -> str:
    digest = hashlib.blake2b(name.encode(), digest_size=16).hexdigest()
    return f"value:{int(area)}:{version}:{digest}"


def cached_page(view: View) -> View:
    """Keep a page view's answers (GET only; put it inside the access check, which must run on
    every request)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "GET" or not _enabled() or _pending_messages(request):
            return view(request, *args, **kwargs)
        key = _key(request, request.user.pk, page=True)
        if key is None:
            return view(request, *args, **kwargs)
        kept = caches[CACHE_ALIAS].get(key)
        if isinstance(kept, _Kept):
            _replay(request, kept)
            return _kept_response(kept)
        response = view(request, *args, **kwargs)
        if (
            response.status_code == 200
            and not response.cookies
            and not getattr(response, "streaming", False)
            and not _pending_messages(request)
        ):
            _keep(key, request, list(response.items()), content=response.content)
        return response

    return wrapped


def cached_answer(request: Request, produce: Callable[[], Response]) -> HttpResponse:
    """Keep an API view's answer (GET only; call it from the handler, after the API view has
    authenticated, checked permissions and throttled the request). JSON is kept as the bytes
    sent, so a kept answer is not serialised again; other formats (the browsable API's pages,
    which carry a CSRF token) keep the data and are rendered per request."""
    if request.method != "GET" or not _enabled():
        return produce()
    key = _key(request._request, request.user.pk, page=False)
    if key is None:
        return produce()
    kept = caches[CACHE_ALIAS].get(key)
    if isinstance(kept, _Kept):
        _replay(request._request, kept)
        if kept.data is None:
            return _kept_response(kept)
        return Response(kept.data, status=kept.status, headers=dict(kept.headers))
    response = produce()
    if response.status_code == 200 and not response.exception:

        def keep_rendered(rendered: HttpResponse) -> None:
            if rendered.get("Content-Type", "").startswith("application/json"):
                _keep(key, request._request, list(rendered.items()), content=rendered.content)
            else:
                _keep(key, request._request, list(response.items()), data=response.data)

        response.add_post_render_callback(keep_rendered)
    return response


def _kept_response(kept: _Kept) -> HttpResponse:
    response = HttpResponse(kept.content, status=kept.status)
    for name, value in kept.headers:
        response[name] = value
    return response


class CachedReads:
    """For API views: every GET answer is kept as :func:`cached_answer` says. The handler is
    wrapped in ``initial()``, after authentication, permissions and throttling have run."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        handler = getattr(self, "get", None)
        if request.method == "GET" and handler is not None:

            def kept(request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
                return cached_answer(request, lambda: handler(request, *args, **kwargs))

            self.get = kept
