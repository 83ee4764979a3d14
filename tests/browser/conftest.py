"""Browser tests fail when a page breaks the Content-Security-Policy (an inline script or style
the browser refused) or a script throws."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page


@pytest.fixture(autouse=True)
def _no_policy_violations_or_script_errors(page: Page) -> Iterator[None]:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The Django admin names no icon, so the browser asks for /favicon.ico and gets a 404.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(message.text)

    def on_page_error(error: Error) -> None:
        problems.append(str(error))

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield
    assert problems == []
