from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class ClinicPagination(PageNumberPagination):
    """Page-numbered lists that also name the clinic's time zone (datetimes carry offsets)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(
            {
                "count": self.page.paginator.count if self.page else 0,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "time_zone": settings.TIME_ZONE,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["time_zone"] = {"type": "string", "example": "Asia/Seoul"}
        response["required"] = ["count", "results", "time_zone"]
        return response
