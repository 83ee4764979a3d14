"""API tokens for the clinic's other systems: created by admins, revocable, stored hashed."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history import register

# Logins keep a history too: who changed a user's name, roles or active flag, and when. The
# password hash is never copied into it (a history table is read by more people, kept longer).
# Logging in is not a change to the account: the lockout's access log records logins, so
# ``last_login`` stays out rather than adding a history row per login.
register(User, app="clinic", excluded_fields=["password", "last_login"], m2m_fields=["groups"])


class ApiToken(models.Model):
    """Only a SHA-256 digest of the token is stored; the token itself is shown once, at creation.

    Tokens are 256 random bits, so a plain digest (no salt, no slow hash) is safe and lets the
    authentication look a token up by its digest in one indexed query.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text=_("Requests with the token act as this user, with this user's role."),
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("e.g. 'CRM sync'"))
    prefix = models.CharField(_("starts with"), max_length=8, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class DataVersion(models.Model):
    """A number per area raised with every committed change to its tables (row 1: any of the
    clinic's data), which keys kept pages and values (see clinic/data_version.py). Written with
    raw SQL, never through the ORM."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    version = models.BigIntegerField()

    class Meta:
        db_table = "clinic_dataversion"

    def __str__(self) -> str:
        return str(self.version)
