"""The OpenAPI contract documents the error shape on every operation, not only the successes."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorItemSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(
        allow_null=True, help_text="The input field at fault (dotted path), or null."
    )
    code = serializers.CharField(help_text="Machine-readable, e.g. required, booking_conflict.")
    message = serializers.CharField(help_text="What went wrong, in words for the user.")
    reason = serializers.DictField(
        required=False, help_text="For protocol_violation: the planner's structured reason."
    )


class ErrorResponseSerializer(serializers.Serializer[Any]):
    # A declared field, not Serializer.errors: DRF's metaclass moves fields off the class.
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]


ERRORS = {
    "400": "Invalid input: one item per problem, naming the field.",
    "401": "Not logged in, or the token is unknown or revoked.",
    "403": "Logged in, but this role may not do this.",
    "404": "Not found, or not visible to the caller.",
    "409": "A booking conflict, or a protocol that cannot be kept (with the reason).",
    "429": "Too many changes in a short time; retry later.",
}


class ClinicAutoSchema(AutoSchema):
    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        # Any operation can meet bad input (a filter or page value), a missing login, a role
        # that may not use it, or something not found (an id, a page past the end).
        codes = ["400", "401", "403", "404"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["409", "429"]
        for code in codes:
            responses.setdefault(
                code,
                self._get_response_for_code(
                    OpenApiResponse(ErrorResponseSerializer, description=ERRORS[code]),
                    code,
                    direction=direction,
                ),
            )
        return responses
