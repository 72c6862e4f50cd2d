"""Gemini through its REST `generateContent` API with httpx.

`POST {base_url}/v1beta/models/{model}:generateContent`, key in the
`x-goog-api-key` header (never in the URL, so it stays out of access logs).
Retries with exponential back-off and jitter on 429, 5xx and connection
errors (honouring a short Retry-After); a timeout is not retried (the caller
already waited the full timeout). Failures become API errors with clear JSON:
503 when the provider is busy, down or refuses our configuration, 504 on a
timeout, 502 when it answers something unreadable.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

import httpx

from siprems.errors import ApiError

log = logging.getLogger("siprems.chat.gemini")


class ProviderUnavailable(ApiError):
    status, code = 503, "assistant_unavailable"


class ProviderTimeout(ApiError):
    status, code = 504, "assistant_timeout"


class ProviderBadResponse(ApiError):
    status, code = 502, "assistant_bad_response"


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "model"
    text: str


class GeminiProvider:
    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str,
        timeout: float = 20.0,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = 5.0,
        temperature: float = 0.4,
        max_output_tokens: int = 1024,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.generation_config = {"temperature": temperature, "maxOutputTokens": max_output_tokens}
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"x-goog-api-key": api_key, "content-type": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def generate(self, system: str, turns: list[Turn]) -> str:
        """The model's answer to the conversation `turns` (ending with the user's question)."""
        body = {
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": t.role, "parts": [{"text": t.text}]} for t in turns],
            "generationConfig": self.generation_config,
        }
        path = f"/v1beta/models/{self.model}:generateContent"
        # Retries stop once they would run past this budget (the request
        # must finish well inside Sanic's and HAProxy's response timeouts).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.5 * self.timeout
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                remaining = max(0.5, min(self.timeout, deadline - loop.time()))
                response = await self.client.post(path, json=body, timeout=remaining)
            except httpx.TimeoutException as exc:
                log.warning("gemini timeout on attempt %d: %r", attempt, exc)
                raise ProviderTimeout("The assistant took too long to answer; please try again.") from exc
            except httpx.HTTPError as exc:
                log.warning("gemini unreachable on attempt %d: %r", attempt, exc)
                delay = self._delay(attempt, None)
                if last or loop.time() + delay > deadline:
                    raise ProviderUnavailable(
                        "The assistant is unreachable right now; please try again shortly.",
                        headers={"Retry-After": "5"},
                    ) from exc
                await asyncio.sleep(delay)
                continue
            status = response.status_code
            if status == 200:
                return _text_of(response)
            if status == 429 or status >= 500:
                log.warning("gemini answered %d on attempt %d", status, attempt)
                delay = self._delay(attempt, response.headers.get("retry-after"))
                if last or loop.time() + delay > deadline:
                    busy = status == 429
                    raise ProviderUnavailable(
                        "The assistant is busy right now; please try again shortly."
                        if busy
                        else "The assistant is unavailable right now; please try again shortly.",
                        code="assistant_busy" if busy else "assistant_unavailable",
                        headers={"Retry-After": "5"},
                    )
                await asyncio.sleep(delay)
                continue
            # 400/401/403/404: our key, model or request is wrong; retrying will not help.
            log.error("gemini rejected the request: %d %s", status, response.text[:300])
            raise ProviderUnavailable(
                "The assistant is not configured correctly on the server.", code="assistant_misconfigured"
            )
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_retry_after)
            except ValueError:
                pass
        return self.backoff * (2.0 ** (attempt - 1)) * (0.5 + random.random())


def _text_of(response: httpx.Response) -> str:
    """The text of the first candidate; a blocked prompt becomes a polite refusal."""
    try:
        data = response.json()
    except ValueError as exc:
        raise ProviderBadResponse("The assistant returned an unreadable answer; please try again.") from exc
    if not isinstance(data, dict):
        raise ProviderBadResponse("The assistant returned an unreadable answer; please try again.")
    candidates = data.get("candidates")
    if not candidates:
        if (data.get("promptFeedback") or {}).get("blockReason"):
            return "I can't help with that request. / Maaf, saya tidak dapat membantu permintaan itu."
        raise ProviderBadResponse("The assistant returned an empty answer; please try again.")
    try:
        first = candidates[0]
        parts = (first.get("content") or {}).get("parts") or []
        text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
    except (AttributeError, IndexError, TypeError) as exc:
        raise ProviderBadResponse("The assistant returned an unreadable answer; please try again.") from exc
    if not text.strip():
        if first.get("finishReason") in ("SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "RECITATION"):
            return "I can't help with that request. / Maaf, saya tidak dapat membantu permintaan itu."
        raise ProviderBadResponse("The assistant returned an empty answer; please try again.")
    return text.strip()
