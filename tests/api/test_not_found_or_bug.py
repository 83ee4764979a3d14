"""Only the object a caller asked for is "not found"; any other failed lookup is a bug that
answers 500 and is logged, instead of hiding behind a 404."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from patients.models import Patient

pytestmark = pytest.mark.django_db


class LooksUpSomethingElse(APIView):
    permission_classes = []

    def get(self, request: Request) -> Response:
        Patient.objects.get(pk=-1)  # a lookup the caller did not ask for: a bug
        return Response({})


class AskedForAMissingObject(APIView):
    permission_classes = []

    def get(self, request: Request) -> Response:
        raise Http404


urlpatterns = [
    path("bug/", LooksUpSomethingElse.as_view()),
    path("missing/", AskedForAMissingObject.as_view()),
]


@pytest.fixture
def api(settings: object) -> APIClient:
    settings.ROOT_URLCONF = __name__  # type: ignore[attr-defined]
    return APIClient(raise_request_exception=False)


def test_a_failed_lookup_the_caller_did_not_ask_for_is_a_logged_server_error(
    api: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = api.get("/bug/")

    assert response.status_code == 500
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)


def test_the_object_the_caller_asked_for_being_missing_is_a_404(api: APIClient) -> None:
    response = api.get("/missing/")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
