"""Pages and API answers kept for a minute at most, and never past a committed change.

A clinic reads far more than it writes: receptionists keep Today and the calendar open and
reload them all day, patients reopen their schedule. Building such a page costs tens of
milliseconds of Python (rows, presenters, templates), so a built answer is kept under a key made
of everything it depends on:

- the **data version**, a counter in the database raised after every committed transaction that
  wrote to the clinic's tables. :func:`watch_writes` sees every statement Django sends (ORM,
  bulk and raw SQL alike), so no write path can forget to invalidate, and a change made by any
  process (a web worker, the Celery worker, the admin) shows on the very next request;
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
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from rest_framework.request import Request
from rest_framework.response import Response

CACHE_ALIAS = "pages"
VERSION_TABLE = "clinic_dataversion"

# Tables written while reading, or that only decide who gets in (checked before the cache is
# asked): a write to them changes no page. Anything else raises the version.
UNTRACKED_TABLES = frozenset(
    {
        VERSION_TABLE,
        "django_session",
        "patients_patientaccess",
        "axes_accessattempt",
        "axes_accessfailurelog",
        "axes_accesslog",
    }
)
_READS = (
    *("SELECT", "(SELECT", "EXPLAIN", "SHOW", "PRAGMA", "SET "),
    *("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"),
    # Schema changes come with a deployment, which restarts the processes and their caches.
    *("CREATE", "ALTER", "DROP", "COMMENT"),
)
_WRITE_TARGET = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


# --- The data version ------------------------------------------------------------------------


def statement_changes_data(sql: str) -> bool:
    """Whether a statement may change what a page shows: any write except to untracked tables
    (statements it cannot read, such as ``WITH`` or ``TRUNCATE``, count as writes)."""
    head = sql.lstrip()[:10].upper()
    if head.startswith(_READS):
        return False
    target = _WRITE_TARGET.match(sql)
    return target is None or target.group(1).lower() not in UNTRACKED_TABLES


def data_version(using: str = "default") -> int:
    """The current data version (one query); 0 before anything was ever written."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT version FROM {VERSION_TABLE} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def data_version_raise(using: str = "default") -> None:
    """Raise the version (one statement, outside any transaction of the caller's). A fresh row
    starts at a random number, so versions from before a table was emptied never come back."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {VERSION_TABLE} (id, version) VALUES (1, %s) "  # noqa: S608
            f"ON CONFLICT (id) DO UPDATE SET version = {VERSION_TABLE}.version + 1",
            [secrets.randbelow(2**62)],
        )


_unseen: ContextVar[bool] = ContextVar("clinic_unseen_writes", default=False)


@contextmanager
def unseen_writes() -> Iterator[None]:
    """Writes that change nothing a kept page or value shows (bookkeeping such as when an API
    token was last used): they leave the version alone."""
    token = _unseen.set(True)
    try:
        yield
    finally:
        _unseen.reset(token)


def watch_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Execute wrapper on every connection: after a transaction that changed data commits
    (or at once in autocommit), the version goes up, once per transaction."""
    result = execute(sql, params, many, context)
    if not _unseen.get() and statement_changes_data(sql):
        connection = cast(BaseDatabaseWrapper, context["connection"])
        pending = cast(list[tuple[Any, ...]], connection.run_on_commit)  # (savepoints, f, robust)
        if not any(entry[1] is _raise_after_commit for entry in pending):
            connection.on_commit(_raise_after_commit, robust=True)
    return result


def _raise_after_commit() -> None:
    try:
        data_version_raise()
    except DatabaseError:
        # A database still being migrated has no version table yet, and no kept pages.
        if VERSION_TABLE in connections["default"].introspection.table_names():
            raise


# --- The version a request sees -----------------------------------------------------------------

# Read once per request, before anything it guards (the session brings it in the same query,
# clinic/session_store.py): the user, the page and the values below all see the same version.
_in_request: ContextVar[bool] = ContextVar("clinic_in_request", default=False)
_request_version: ContextVar[int | None] = ContextVar("clinic_request_version", default=None)


def request_began(**kwargs: object) -> None:
    """``request_started`` receiver."""
    _in_request.set(True)
    _request_version.set(None)


def request_ended(**kwargs: object) -> None:
    """``request_finished`` receiver: outside a request, every read of the version is fresh."""
    _in_request.set(False)
    _request_version.set(None)


def request_data_version() -> int:
    """The data version as the current request first read it (at most one query a request);
    outside a request (the worker, commands), read afresh each time."""
    if not _in_request.get():
        return data_version()
    version = _request_version.get()
    if version is None:
        version = data_version()
        _request_version.set(version)
    return version


def note_request_data_version(version: int | None) -> None:
    """Take the version read along with another query, if the request has none yet."""
    if _in_request.get() and _request_version.get() is None:
        _request_version.set(int(version or 0))


def watch_connection(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """``connection_created`` receiver: every new connection to the clinic's database watches
    its writes (not the ones Django opens to the server alone, e.g. to create a test database)."""
    if connection.alias == "default" and watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(watch_writes)


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


def kept_value[T](name: str, build: Callable[[], T]) -> T:
    """A value read from the database, kept in this process while the data version stays the
    same (and no longer than kept pages are): for what every request reads, such as the
    logged-in user with their roles. ``build`` runs when nothing is kept."""
    if not _enabled():
        return build()
    key = _value_key(name)
    found = caches[CACHE_ALIAS].get(key, _MISSING)
    if found is not _MISSING:
        return cast(T, found)
    value = build()
    caches[CACHE_ALIAS].set(key, value, settings.PAGE_CACHE_SECONDS)
    return value


def keep_value(name: str, value: object) -> None:
    """Keep ``value`` under ``name`` for the current data version (see :func:`kept_value`)."""
    if _enabled():
        caches[CACHE_ALIAS].set(_value_key(name), value, settings.PAGE_CACHE_SECONDS)


def _value_key(name: str) -> str:
    return f"value:{request_data_version()}:{name}"


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
