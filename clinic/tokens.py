"""Creating, checking and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from clinic.data_version import Area, unseen_writes
from clinic.models import ApiToken
from clinic.page_cache import kept_value
from clinic.roles import ROLE_NAMES, remember_roles, with_role_names

TOKEN_BYTES = 32
PREFIX_LENGTH = 8


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, created_by: User | None) -> tuple[ApiToken, str]:
    """Return the token row and the raw token, which is never stored and cannot be shown again."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:PREFIX_LENGTH],
        digest=token_digest(raw),
        created_by=created_by,
    )
    return token, raw


# When this process last wrote a token's last use: the token itself may be kept (with the
# last use it had when read) for as long as the accounts stay unchanged. By digest, not id:
# SQLite gives a deleted token's id to the next one.
_last_use_written: dict[str, datetime] = {}


def api_token_user(raw: str) -> User | None:
    """The active user behind an active token, or None. Records when the token was last used.

    Kept between requests while the accounts' data version stays the same: revoking a token or
    deactivating its user is a committed write to those tables, which raises it."""
    digest = token_digest(raw)
    found = kept_value(f"token:{digest}", lambda: _token_with_user(digest), area=Area.ACCOUNTS)
    if found is None:
        return None
    token, user = found
    now = timezone.now()
    written = max(filter(None, (token.last_used_at, _last_use_written.get(digest))), default=None)
    # At most one write a minute per token, so busy integrations do not write on every request;
    # bookkeeping that no page shows, so it leaves the data versions (and what is kept) alone.
    if written is None or (now - written).total_seconds() > 60:
        with unseen_writes():
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        _last_use_written[digest] = now
    return user


def _token_with_user(digest: str) -> tuple[ApiToken, User] | None:
    token = (
        with_role_names(ApiToken.objects.select_related("user"), path="user__")
        .filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    remember_roles(token.user, getattr(token, ROLE_NAMES))
    return token, token.user


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
