"""The API's only parser: JSON, with a body nested deeper than the decoder can follow refused
as unreadable (400), not a RecursionError (500). Bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE``
are refused by Django before parsing (413, see ``clinic.api.errors``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                _("The JSON is nested too deeply."), code="too_deep"
            ) from None
