"""Screenshots of a page as its users see it: desktop and a 390 px phone, English and Korean.

Saved under ``var/screenshots/`` (git-ignored) for people to look at; nothing is compared.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

FOLDER = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LANGUAGES = ("en", "ko")


def set_language(page: Page, base_url: str, language: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])


def loaded_in_parts(page: Page) -> None:
    """Wait for the parts a page loads once shown (``hx-trigger="load"``, such as Today's side
    panels) to have replaced their placeholders."""
    page.wait_for_function("() => !document.querySelector('[hx-trigger=\"load\"]')")


def capture(page: Page, base_url: str, name: str) -> list[Path]:
    """Reload the current page in each language and viewport and save a full-page screenshot
    of each; the page is left as it was (English, desktop)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    saved = []
    for language in LANGUAGES:
        set_language(page, base_url, language)
        page.reload()
        loaded_in_parts(page)
        for device, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            path = FOLDER / f"{name}-{device}-{language}.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
    set_language(page, base_url, "en")
    page.set_viewport_size(VIEWPORTS["desktop"])
    page.reload()
    return saved


def capture_as_shown(page: Page, name: str, language: str) -> list[Path]:
    """Save the current page as it is (a patient's pages follow their own language, not the
    browser's cookie) in each viewport, named for ``language``; the viewport is put back."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    saved = []
    for device, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        path = FOLDER / f"{name}-{device}-{language}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
    if before:
        page.set_viewport_size(before)
    return saved
