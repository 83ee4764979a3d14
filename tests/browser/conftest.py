"""Browser tests fail when a page breaks the Content-Security-Policy (an inline script or style
the browser refused) or a script throws."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page


@pytest.fixture(autouse=True)
def _no_policy_violations_or_script_errors(
    page: Page, request: pytest.FixtureRequest
) -> Iterator[None]:
    problems: list[str] = []
    # A test about a refusal (a locked login answers 429) marks the statuses it expects.
    marker = request.node.get_closest_marker("answers_with")
    expected = [f"status of {status} " for status in (marker.args if marker else ())]

    def on_console(message: ConsoleMessage) -> None:
        # The Django admin names no icon, so the browser asks for /favicon.ico and gets a 404.
        if message.type != "error" or message.location.get("url", "").endswith("/favicon.ico"):
            return
        if not any(status in message.text for status in expected):
            problems.append(message.text)

    def on_page_error(error: Error) -> None:
        problems.append(str(error))

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield
    assert problems == []
