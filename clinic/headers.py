"""Response headers every page and API answer carries, whatever view produced it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers

Handler = Callable[[HttpRequest], HttpResponseBase]


class PermissionsPolicyMiddleware:
    """Turn off the browser features the clinic never uses (camera, microphone, location,
    payment…), so an injected script or a framing page cannot ask for them either."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})"
            for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.header)
        return response


class NoStoreMiddleware:
    """Nothing a logged-in user sees, and no API answer, is kept by the browser or a proxy:
    they carry patients' data. Static files never reach this middleware (WhiteNoise answers
    them first) and keep their long cache lifetimes."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path.startswith("/api/") or _logged_in(request):
            add_never_cache_headers(response)
        return response


def _logged_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
