"""A scripted Messages API behind the real SDK: an ``httpx2.MockTransport`` and response builders.

The responses have the exact shape of ``POST /v1/messages`` answers as the SDK's own recorded
snapshots show them (``id``, ``type: "message"``, ``role``, ``model``, ``content`` blocks of type
``text``/``thinking``/``tool_use``, ``stop_reason``, ``stop_sequence``, ``usage`` with the cache
fields), and errors have the API's error envelope (``{"type": "error", "error": {...}}``) with
its status codes (429 ``rate_limit_error``, 529 ``overloaded_error``).

Every request body the SDK sends is kept, parsed (:attr:`MockMessagesAPI.requests`) and raw
(:attr:`MockMessagesAPI.bodies`), so tests can scan exactly what would have left the machine.
``usage`` is computed from the body at characters / 4 (no offline tokenizer is installed), with the
cached prefix (tools + system) reported as a cache write the first time it is seen and a cache read
after, as the API would.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx2

MODEL = "claude-sonnet-5-5"

Reply = tuple[int, dict[str, Any], dict[str, str]]
Script = Callable[[dict[str, Any]], Reply]

_ids = itertools.count(1)

#: Which investigation a conversation belongs to, by the seed prompt its first turn carries.
CONVERSATION_MARKERS = {
    "system": "Investigate system-level issues",
    "code": "Debug code-related issues",
    "performance": "Analyze performance aspects",
    "security": "Check security aspects",
    "synthesis": "URGENT: Analyze this production incident",
}


def estimate_tokens(value: Any) -> int:
    """Characters / 4 of the JSON text: the estimate used where no tokenizer works offline."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return max(1, len(text) // 4)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def thinking(value: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": f"sig-{next(_ids):04d}"}


def tool_use(name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{next(_ids):024d}", "name": name, "input": dict(arguments)}


def message(content: Sequence[Mapping[str, Any]], stop_reason: str | None = None) -> dict[str, Any]:
    """A Messages API response body; ``stop_reason`` defaults from the content."""
    if stop_reason is None:
        stop_reason = "tool_use" if any(b.get("type") == "tool_use" for b in content) else "end_turn"
    return {
        "model": MODEL,
        "id": f"msg_{next(_ids):024d}",
        "type": "message",
        "role": "assistant",
        "content": [dict(b) for b in content],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {},  # filled in by the mock from the request
    }


def reply(content: Sequence[Mapping[str, Any]], stop_reason: str | None = None) -> Reply:
    return 200, message(content, stop_reason), {}


def error(status: int, kind: str, detail: str, headers: Mapping[str, str] | None = None) -> Reply:
    return status, {"type": "error", "error": {"type": kind, "message": detail}}, dict(headers or {})


def rate_limited(retry_after_ms: int | None = None) -> Reply:
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
    return error(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit.", headers)


def overloaded() -> Reply:
    return error(529, "overloaded_error", "Overloaded")


# -- reading a request ----------------------------------------------------------------------------


def conversation(body: Mapping[str, Any]) -> str:
    """``system``, ``code``, ``performance``, ``security`` or ``synthesis``."""
    first = body["messages"][0]["content"]
    opening = first if isinstance(first, str) else " ".join(b.get("text", "") for b in first)
    for key, marker in CONVERSATION_MARKERS.items():
        if marker in opening:
            return key
    raise AssertionError(f"unknown conversation: {opening[:120]!r}")


def step(body: Mapping[str, Any]) -> int:
    """1 for the first request of a conversation, 2 after one assistant turn..."""
    return 1 + sum(1 for m in body["messages"] if m["role"] == "assistant")


def tool_results(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``tool_result`` blocks of the newest user turn."""
    last = body["messages"][-1]
    content = last["content"] if isinstance(last["content"], list) else []
    return [b for b in content if b.get("type") == "tool_result"]


def result_payload(body: Mapping[str, Any], index: int = 0) -> Any:
    """The JSON a tool answered with (the ``index``-th result of the newest turn)."""
    block = tool_results(body)[index]
    content = block["content"]
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content)
    return json.loads(content)


# -- the mock -------------------------------------------------------------------------------------


class MockMessagesAPI:
    """Serves ``POST /v1/messages`` from a script; keeps every body it receives."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.bodies: list[str] = []
        self.replies: list[Reply] = []
        self._cached: set[str] = set()

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        raw = request.content.decode("utf-8")
        self.bodies.append(raw)
        body = json.loads(raw)
        self.requests.append(body)
        assert request.url.path == "/v1/messages", request.url
        status, payload, headers = self.script(body)
        self.replies.append((status, payload, headers))
        if status == 200:
            payload = {**payload, "usage": self.usage(body, payload)}
        return httpx2.Response(
            status, json=payload, headers={"request-id": f"req_{next(_ids):06d}", **headers}
        )

    def usage(self, body: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
        prefix = json.dumps([body.get("tools"), body.get("system")], sort_keys=True)
        prefix_tokens = estimate_tokens(prefix) if body.get("tools") else 0
        total = estimate_tokens(body)
        write = read = 0
        if prefix_tokens >= 1024:  # the API's minimum cacheable prefix for Sonnet models
            if prefix in self._cached:
                read = prefix_tokens
            else:
                write = prefix_tokens
                self._cached.add(prefix)
        return {
            "input_tokens": total - write - read,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
            "output_tokens": estimate_tokens(payload.get("content", [])),
            "service_tier": "standard",
        }

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))

    def conversations(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for body in self.requests:
            out.setdefault(conversation(body), []).append(body)
        return out


class Scripted:
    """A script per conversation: ``steps[key][n]`` answers that conversation's (n+1)-th request.

    A step is a :data:`Script` (given the request body, so it can quote a tool result). A
    conversation without a script, or past its last step, reports no findings.
    """

    def __init__(self, steps: Mapping[str, Sequence[Script]], synthesis: Script | None = None) -> None:
        self.steps = dict(steps)
        self.synthesis = synthesis

    def __call__(self, body: dict[str, Any]) -> Reply:
        key = conversation(body)
        if key == "synthesis":
            return (self.synthesis or (lambda _b: reply([text("{}")])))(body)
        script = self.steps.get(key, ())
        n = step(body) - 1
        if n < len(script):
            return script[n](body)
        return reply([tool_use("report_findings", {"findings": []})])
