"""Where to send someone back to after a form: the ``next`` the page sent, when it is an
address on this site (anything else would make the clinic's pages an open redirect)."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, fallback: str = "") -> str:
    """The ``next`` of the form (or of the address), if it stays on this site; else
    ``fallback``."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback
