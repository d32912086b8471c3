"""The one place that talks to the Messages API: ``AsyncAnthropic``, retries, time budgets.

``anthropic`` is imported here, inside :class:`ClaudeClient`'s constructor, and nowhere else at
module level: the package (and ``incident_flow.llm`` itself) imports without it, so the offline
install stays small and an offline run never loads it.

Retries are ours, not the SDK's (it is built with ``max_retries=0``): the SDK would honour a
``retry-after`` of a minute, while an incident has a budget. Here a rate limit (429), an overload
(529), a server error or a dropped connection is retried with exponential backoff and jitter (or
the server's ``retry-after`` when it gives one), and only while the wait and a new attempt still
fit before the caller's deadline; then :class:`ClaudeUnavailable` says what happened and the run
goes on with its deterministic findings.

Tests inject an HTTP client with a mock transport. The installed SDK (2.x) is built on ``httpx2``
and rejects ``httpx`` objects, so an ``httpx.AsyncClient`` given here is bridged onto an
``httpx2`` transport; an ``httpx2.AsyncClient`` (or whatever the SDK's own client class derives
from) is passed through as is.
"""

from __future__ import annotations

import asyncio
import importlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from incident_flow.llm.settings import LlmSettings

__all__ = ["ClaudeClient", "ClaudeUnavailable"]

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class ClaudeUnavailable(Exception):
    """The API could not answer within the budget (after retries) or refused the request."""


def _sdk_http_module(anthropic: Any) -> Any:
    """The HTTP library the installed SDK is built on (``httpx2`` for 2.x, ``httpx`` before)."""
    base = anthropic.DefaultAsyncHttpxClient.__mro__[1]
    return importlib.import_module(base.__module__.partition(".")[0])


def _bridge_httpx(client: Any, http: Any) -> Any:
    """An ``http`` (httpx2) AsyncClient whose transport sends through ``client`` (an httpx one)."""

    class _Bridge(http.AsyncBaseTransport):
        async def handle_async_request(self, request: Any) -> Any:
            content = await request.aread()
            sent = client.build_request(
                request.method, str(request.url), headers=list(request.headers.raw), content=content
            )
            answer = await client.send(sent)
            body = await answer.aread()
            headers = [(k, v) for k, v in answer.headers.raw if k.lower() != b"content-encoding"]
            return http.Response(answer.status_code, headers=headers, content=body, request=request)

    return http.AsyncClient(transport=_Bridge())


class ClaudeClient:
    """``AsyncAnthropic`` behind one method, :meth:`create`, that retries within a deadline.

    ``sleep`` and ``clock`` are injectable so that tests can check the backoff without waiting.
    """

    def __init__(
        self,
        settings: LlmSettings,
        api_key: str,
        *,
        http_client: Any = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import anthropic  # lazily: see the module docstring

        self._anthropic = anthropic
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        # The SDK closes its HTTP client with itself: only when the client is ours (made by the SDK,
        # or the bridge), never the caller's.
        self._owns_http = http_client is None
        if http_client is not None:
            http = _sdk_http_module(anthropic)
            if not isinstance(http_client, http.AsyncClient):
                http_client = _bridge_httpx(http_client, http)
                self._owns_http = True
        self._sdk = anthropic.AsyncAnthropic(
            api_key=api_key,
            max_retries=0,
            timeout=settings.request_timeout,
            http_client=http_client,
        )
        self.attempts = 0
        self.retries = 0

    async def close(self) -> None:
        """Release the connections this client opened (an injected HTTP client stays open)."""
        if self._owns_http:
            await self._sdk.close()

    def _retry_after(self, exc: Exception) -> float | None:
        response = getattr(exc, "response", None)
        headers: Mapping[str, str] = getattr(response, "headers", None) or {}
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            value = headers.get(name)
            if value is not None:
                try:
                    return max(float(value) * scale, 0.0)
                except ValueError:
                    continue
        return None

    def _retryable(self, exc: Exception) -> bool:
        sdk = self._anthropic
        if isinstance(exc, sdk.APIConnectionError):  # includes APITimeoutError
            return True
        if isinstance(exc, sdk.APIStatusError):
            should = exc.response.headers.get("x-should-retry")
            if should in ("true", "false"):
                return should == "true"
            return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
        return False

    async def create(
        self, *, deadline: float, on_retry: Callable[[dict[str, Any]], None] | None = None, **params: Any
    ) -> Any:
        """``messages.create(**params)``, retried on transient failures while ``deadline`` allows.

        ``deadline`` is a ``clock()`` instant. Each attempt's timeout is what is left of it, so a
        hung connection cannot outlive the budget either.
        :raises ClaudeUnavailable: a non-retryable error, or retries exhausted or out of time.
        """
        sdk = self._anthropic
        attempt = 0
        while True:
            left = deadline - self._clock()
            if left <= 0:
                raise ClaudeUnavailable("no time left in the budget for a request")
            attempt += 1
            self.attempts += 1
            try:
                return await self._sdk.messages.create(
                    **params, timeout=min(self.settings.request_timeout, max(left, 0.05))
                )
            except sdk.APIError as exc:
                status = getattr(exc, "status_code", None)
                what = f"HTTP {status} {type(exc).__name__}" if status else type(exc).__name__
                if not self._retryable(exc):
                    raise ClaudeUnavailable(f"{what}: {_one_line(str(exc))}") from None
                if attempt > self.settings.max_retries:
                    raise ClaudeUnavailable(f"gave up after {attempt} attempts, the last {what}") from None
                backoff = min(
                    self.settings.retry_base_delay * 2 ** (attempt - 1), self.settings.retry_max_delay
                ) * random.uniform(0.75, 1.0)
                server = self._retry_after(exc)
                wait = server if server is not None else backoff
                left = deadline - self._clock()
                # Waiting only makes sense if a request can still follow within the budget.
                if wait + 0.05 >= left:
                    raise ClaudeUnavailable(
                        f"gave up after {attempt} attempt(s), the last {what}: waiting {wait:.1f}s more "
                        f"would pass the time budget ({max(left, 0):.1f}s left)"
                    ) from None
                self.retries += 1
                if on_retry is not None:
                    on_retry({"attempt": attempt, "error": what, "wait_s": round(wait, 3)})
                await self._sleep(wait)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
