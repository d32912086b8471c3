"""Token accounting and an estimated price per run.

The figures are **estimates**: the token counts are the API's own (``usage`` of every response),
but the prices are a table copied by hand from Anthropic's published per-model pricing (USD per
million tokens, checked 2026-11 on platform.claude.com's model pages), and they change. A model
missing from the table gets no cost rather than a guessed one; the report then says so.

Prompt caching is billed differently from plain input, so it is counted apart: a cache write
(``cache_creation_input_tokens``) costs more than plain input (1.25x for the 5-minute cache), a cache
read (``cache_read_input_tokens``) a fraction of it. The total input of a request is the sum of the
three input fields, as the SDK's ``Usage`` documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["PRICES", "ModelPrice", "TokenBudget", "TokenUsage", "estimate_cost", "price_for"]


@attrs.frozen
class ModelPrice:
    """USD per million tokens: plain input, output, 5-minute cache write, cache read."""

    input: float
    output: float
    cache_write: float
    cache_read: float


def _standard(input_price: float, output_price: float, read_share: float = 0.1) -> ModelPrice:
    # The published multipliers: a 5-minute cache write is 1.25x input, a read 0.1x (0.05x on
    # Sonnet 5.5 since its cache-read price cut).
    return ModelPrice(input_price, output_price, input_price * 1.25, input_price * read_share)


PRICES: Mapping[str, ModelPrice] = {
    "claude-sonnet-5-5": _standard(2.0, 10.0, read_share=0.05),
    "claude-sonnet-5": _standard(2.0, 10.0),
    "claude-opus-5-5": _standard(4.0, 20.0),
    "claude-opus-5": _standard(5.0, 25.0),
    "claude-fable-5-1": _standard(10.0, 50.0),
    "claude-sonnet-4-6": _standard(3.0, 15.0),
    "claude-sonnet-4-5": _standard(3.0, 15.0),
    "claude-opus-4-6": _standard(5.0, 25.0),
    "claude-opus-4-5": _standard(5.0, 25.0),
    "claude-haiku-4-5": _standard(1.0, 5.0),
}
"""Published list prices by model id (dated ids such as ``claude-sonnet-4-5-20250929`` match their
alias). Estimates: check the pricing page before relying on them."""


def price_for(model: str) -> ModelPrice | None:
    """The price of ``model``, matching a dated id to its alias; None when not on file."""
    if model in PRICES:
        return PRICES[model]
    for name, price in PRICES.items():
        if model.startswith(name + "-") and model[len(name) + 1 :].isdigit():
            return price
    return None


@attrs.frozen
class TokenUsage:
    """Tokens spent, summed over requests; ``+`` adds two usages."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @classmethod
    def from_response(cls, usage: Any) -> TokenUsage:
        """One response's ``usage`` (the SDK's ``Usage`` or its dict form); absent fields are 0."""

        def field(name: str) -> int:
            value = usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)
            return int(value or 0)

        return cls(
            requests=1,
            input_tokens=field("input_tokens"),
            output_tokens=field("output_tokens"),
            cache_creation_input_tokens=field("cache_creation_input_tokens"),
            cache_read_input_tokens=field("cache_read_input_tokens"),
        )

    @property
    def total_input_tokens(self) -> int:
        """Everything the model read: plain input plus cache writes plus cache reads."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def total_tokens(self) -> int:
        return self.total_input_tokens + self.output_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }


def estimate_cost(usage: TokenUsage, model: str) -> float | None:
    """USD for ``usage`` at ``model``'s list price (None when the model has no price on file)."""
    price = price_for(model)
    if price is None:
        return None
    dollars = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_creation_input_tokens * price.cache_write
        + usage.cache_read_input_tokens * price.cache_read
    ) / 1_000_000
    return round(dollars, 6)


class TokenBudget:
    """The run's ceiling on tokens, shared by the agents (they run on one event loop: no lock).

    A request first reserves what it may spend (its input, estimated at characters / 4, plus its
    output allowance): the four agents start at once, and without a reservation each would see
    the whole budget free. The reservation is settled with the API's own count once the answer
    is in, or released when the request failed.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0
        self.reserved = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.spent - self.reserved, 0)

    def reserve(self, tokens: int) -> bool:
        """Hold ``tokens`` for a request; False (nothing held) when they do not fit."""
        if tokens > self.remaining:
            return False
        self.reserved += tokens
        return True

    def settle(self, reserved: int, usage: TokenUsage | None = None) -> None:
        """Replace a reservation by what the request really spent (nothing, if it failed)."""
        self.reserved = max(self.reserved - reserved, 0)
        if usage is not None:
            self.spent += usage.total_tokens
