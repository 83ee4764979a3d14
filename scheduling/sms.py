"""Text-message backends behind one small interface, chosen by ``settings.SMS_BACKEND``
(``SMS_GATEWAY``): Solapi (SMS and KakaoTalk for Korean clinics), a signed webhook to any other
gateway, and the console and file backends for development.

Every message carries an idempotency key (one per reminder or message, the same on every
attempt). Gateways that honour a key drop a repeat; the file backend does the same. A refusal
that will never succeed (a bad number, a malformed request) is ``SmsRejectedError`` and is not
retried; anything else (the gateway down, a timeout) is a plain ``SmsError``, retried with
back-off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol, TextIO

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The gateway could not take the message now; the reminder will be retried."""

    permanent = False


class SmsRejectedError(SmsError):
    """The gateway refused the message for good (a bad number, a request it will never accept):
    retrying cannot help, so the reminder is failed at once for staff to see."""

    permanent = True


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, key: str) -> None: ...


class ConsoleSmsBackend:
    """Prints messages, for the embedded default and development (refused in production)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, *, to: str, body: str, key: str) -> None:
        self.stream.write(f"--- SMS to {to} [{key}]\n{body}\n---\n")
        self.stream.flush()


class FileSmsBackend:
    """One file per message in ``SMS_OUTBOX_DIR``, named by its key; a repeat is a no-op.
    For development (refused in production)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.SMS_OUTBOX_DIR)

    def send(self, *, to: str, body: str, key: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            with (self.directory / f"{key}.txt").open("x", encoding="utf-8") as file:
                file.write(f"To: {to}\n\n{body}\n")
        except FileExistsError:
            return  # delivered already: the gateway contract is idempotent by key
        except OSError as error:
            raise SmsError(f"could not write to the SMS outbox: {error}") from error


class LocmemSmsBackend:
    """Keeps messages in memory, for tests (like Django's locmem email backend)."""

    outbox: ClassVar[list[dict[str, str]]] = []

    def send(self, *, to: str, body: str, key: str) -> None:
        if any(message["key"] == key for message in self.outbox):
            return
        self.outbox.append({"to": to, "body": body, "key": key})


# --- Real gateways over HTTP ----------------------------------------------------------------

# Answers that say "not now" rather than "never": throttling, a conflict with the same key still
# being processed, and credentials or a clock the clinic can fix (the reminder should then go out).
RETRYABLE_4XX = frozenset({401, 403, 408, 409, 425, 429})


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(settings.SMS_TIMEOUT_SECONDS, connect=min(5, settings.SMS_TIMEOUT_SECONDS))


def _post(gateway: str, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST and sort the outcome: 2xx is returned, a permanent refusal is ``SmsRejectedError``, and
    anything else (5xx, throttling, timeouts, connection errors) is a retryable ``SmsError``.
    Error texts name the gateway and the status only: never the number or the message."""
    try:
        response = httpx.post(url, content=content, headers=headers, timeout=_timeout())
    except httpx.TimeoutException as error:
        raise SmsError(f"{gateway} did not answer in time ({type(error).__name__})") from error
    except httpx.HTTPError as error:
        raise SmsError(f"{gateway} could not be reached ({type(error).__name__})") from error
    if response.is_success:
        return response
    detail = _error_code(response)
    text = f"{gateway} answered HTTP {response.status_code}{detail}"
    if 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX:
        raise SmsRejectedError(text)
    raise SmsError(text)


def _error_code(response: httpx.Response) -> str:
    """The gateway's error code, if it sent one (codes, not messages, which may quote input)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    code = data.get("errorCode") or data.get("code") if isinstance(data, dict) else None
    return f" ({str(code)[:60]})" if code else ""


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def solapi_authorization(api_key: str, api_secret: str, *, date: str, salt: str) -> str:
    """Solapi's ``Authorization`` header: an HMAC-SHA256 of date + salt with the API secret."""
    signature = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


def _configured(name: str) -> str:
    value: str = getattr(settings, name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set for the chosen SMS gateway.")
    return value


class SolapiSmsBackend:
    """Solapi (solapi.com): ``POST /messages/v4/send-many/detail`` signed with the account's API
    key. A text message (SMS, or LMS when long, chosen by Solapi), or KakaoTalk AlimTalk with a
    text-message fallback when ``SOLAPI_KAKAO_PF_ID`` is set.

    The idempotency key travels in the message's ``customFields`` (kept with the message in
    Solapi's log, so a repeat can be traced to one reminder) and as an ``Idempotency-Key`` header.
    A message Solapi refuses (in ``failedMessageList``) is refused for good."""

    path = "/messages/v4/send-many/detail"

    def __init__(self) -> None:
        self.api_key = _configured("SOLAPI_API_KEY")
        self.api_secret = _configured("SOLAPI_API_SECRET")
        self.sender = _configured("SOLAPI_SENDER")
        self.url = settings.SOLAPI_API_URL + self.path

    def payload(self, *, to: str, body: str, key: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "to": _digits(to),
            "from": _digits(self.sender),
            "text": body,
            "customFields": {"idempotencyKey": key},
        }
        if settings.SOLAPI_KAKAO_PF_ID:
            kakao: dict[str, Any] = {"pfId": settings.SOLAPI_KAKAO_PF_ID, "disableSms": False}
            if settings.SOLAPI_KAKAO_TEMPLATE_ID:
                kakao["templateId"] = settings.SOLAPI_KAKAO_TEMPLATE_ID
            message["kakaoOptions"] = kakao
        return {"messages": [message], "allowDuplicates": False}

    def send(self, *, to: str, body: str, key: str) -> None:
        date = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        salt = secrets.token_hex(16)
        response = _post(
            "Solapi",
            self.url,
            content=_json(self.payload(to=to, body=body, key=key)),
            headers={
                "Authorization": solapi_authorization(
                    self.api_key, self.api_secret, date=date, salt=salt
                ),
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": key,
            },
        )
        try:
            failed = response.json().get("failedMessageList") or []
        except (ValueError, AttributeError):
            raise SmsError("Solapi answered with something that is not its JSON") from None
        if failed:
            code = failed[0].get("statusCode", "?") if isinstance(failed[0], dict) else "?"
            raise SmsRejectedError(f"Solapi refused the message (status {str(code)[:20]})")


def _digits(phone: str) -> str:
    """Solapi takes Korean numbers as digits only: +82 10-1234-5678 → 01012345678."""
    digits = "".join(char for char in phone if char.isdigit())
    if phone.strip().startswith("+82") and digits.startswith("82"):
        digits = "0" + digits[2:]
    return digits


def webhook_signature(secret: str, *, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``{timestamp}.{body}``, hex: the timestamp inside the signature stops a
    captured request being replayed later with a fresh header."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookSmsBackend:
    """Any gateway behind a small HTTPS contract: ``POST SMS_WEBHOOK_URL`` with JSON ``{"to",
    "body", "key"}``, headers ``Idempotency-Key`` (the same on every attempt),
    ``X-Clinic-Timestamp`` (Unix seconds) and ``X-Clinic-Signature: sha256=<hex>``
    (see ``webhook_signature``). 2xx means accepted; a repeated key must be answered 2xx."""

    def __init__(self) -> None:
        self.url = _configured("SMS_WEBHOOK_URL")
        self.secret = _configured("SMS_WEBHOOK_SECRET")

    def send(self, *, to: str, body: str, key: str) -> None:
        content = _json({"to": to, "body": body, "key": key})
        timestamp = str(int(time.time()))
        _post(
            "The SMS webhook",
            self.url,
            content=content,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": key,
                "X-Clinic-Timestamp": timestamp,
                "X-Clinic-Signature": "sha256="
                + webhook_signature(self.secret, timestamp=timestamp, body=content),
            },
        )


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
