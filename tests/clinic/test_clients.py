"""The client address believed for lockouts and the access log."""

import pytest
from django.test import RequestFactory

from clinic.clients import client_address


@pytest.fixture
def factory() -> RequestFactory:
    return RequestFactory()


def test_without_a_proxy_the_forwarded_header_is_ignored(factory, settings):
    settings.BEHIND_TLS_PROXY = False
    request = factory.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_address(request) == "203.0.113.9"


def test_behind_the_proxy_only_its_own_hop_counts(factory, settings):
    settings.BEHIND_TLS_PROXY = True
    request = factory.get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9"
    )
    assert client_address(request) == "203.0.113.9"


def test_behind_the_proxy_without_the_header_the_socket_address_is_used(factory, settings):
    settings.BEHIND_TLS_PROXY = True
    request = factory.get("/", REMOTE_ADDR="10.0.0.2")
    assert client_address(request) == "10.0.0.2"


def test_a_malformed_address_is_unknown_not_trusted(factory, settings):
    settings.BEHIND_TLS_PROXY = True
    request = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="'; drop table")
    assert client_address(request) is None
