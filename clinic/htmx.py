"""Pages that htmx asks for in part: typing for ``request.htmx`` (django-htmx's middleware) and
rendering a page or just one of its partials."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def render_page_or_partial(
    request: HtmxHttpRequest, template: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    """The whole page, or only ``template#partial`` when htmx asks. A history restore (the back
    button after htmx's history cache expired) needs the whole page. The answer varies with
    ``HX-Request`` so no cache hands a fragment to a plain page load."""
    wants_partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, f"{template}#{partial}" if wants_partial else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
