"""Where a request comes from, told once for the lockout, the access log and the audit trail.

The address a client claims in ``X-Forwarded-For`` is only believed behind our own TLS proxy
(``BEHIND_TLS_PROXY``), and then only the hop that proxy appended: everything to its left was
written by the client and can be forged to dodge a lockout or blame someone else.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address as this deployment can vouch for it, or None if unknown."""
    if getattr(settings, "BEHIND_TLS_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return _valid_address(hops[-1])
    return _valid_address(request.META.get("REMOTE_ADDR", ""))
