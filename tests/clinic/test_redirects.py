"""Where forms send people back to: only addresses on this site."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from clinic.redirects import safe_next


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("/staff/today/side/", "/staff/today/side/"),
        ("http://testserver/staff/", "http://testserver/staff/"),
        ("https://evil.example/", "/fallback/"),
        ("//evil.example/", "/fallback/"),
        ("javascript:alert(1)", "/fallback/"),
        ("", "/fallback/"),
    ],
)
def test_a_form_goes_back_only_to_this_site(wanted: str, expected: str) -> None:
    request = RequestFactory().post("/somewhere/", {"next": wanted})

    assert safe_next(request, "/fallback/") == expected


def test_the_address_can_say_where_to_go_back_to() -> None:
    request = RequestFactory().get("/somewhere/", {"next": "/staff/calendar/"})

    assert safe_next(request) == "/staff/calendar/"


def test_over_https_a_plain_http_address_is_not_followed() -> None:
    request = RequestFactory().post(
        "/somewhere/", {"next": "http://testserver/staff/"}, secure=True
    )

    assert safe_next(request, "/fallback/") == "/fallback/"
