"""Count statistics for telemetry: when did a rate change, and is a rise significant?

Log and event counts are Poisson-like, so both questions are answered with a likelihood-ratio
(G) test rather than a fixed ratio: 3 errors after 0 is noise on a busy service and news on a
quiet one. The G statistic is chi-square with one degree of freedom, so its p-value needs only
``math.erfc``: no SciPy in the core.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

__all__ = ["ChangePoint", "RateChange", "change_point", "is_surge", "rate_change"]


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def _chi2_sf_1(g: float) -> float:
    """Survival function of chi-square with one degree of freedom."""
    return math.erfc(math.sqrt(max(g, 0.0) / 2.0))


@attrs.frozen
class RateChange:
    """A before/after comparison of one count: rates per minute, the G statistic and its p-value."""

    before: int
    after: int
    minutes_before: float
    minutes_after: float
    rate_before: float
    rate_after: float
    g: float
    p_value: float

    @property
    def ratio(self) -> float:
        """After over before; a floor of half an event keeps a new pattern's ratio finite."""
        return self.rate_after / max(self.rate_before, 0.5 / self.minutes_before)


def rate_change(before: int, minutes_before: float, after: int, minutes_after: float) -> RateChange:
    """Compare two Poisson counts over their exposure times (minutes) with a G-test."""
    minutes_before = max(minutes_before, 1e-9)
    minutes_after = max(minutes_after, 1e-9)
    total = before + after
    exposure = minutes_before + minutes_after
    expected_before = total * minutes_before / exposure
    expected_after = total * minutes_after / exposure
    g = 0.0
    if total:
        g = 2.0 * (
            _xlogy(before, before / expected_before if before else 1.0)
            + _xlogy(after, after / expected_after if after else 1.0)
        )
    return RateChange(
        before=before,
        after=after,
        minutes_before=minutes_before,
        minutes_after=minutes_after,
        rate_before=before / minutes_before,
        rate_after=after / minutes_after,
        g=g,
        p_value=_chi2_sf_1(g),
    )


def is_surge(
    change: RateChange, *, min_after: int = 3, significance: float = 1e-3, min_ratio: float = 2.0
) -> bool:
    """New or rising, and both significant (G-test) and large: the default of every surge check."""
    return change.after >= min_after and change.p_value <= significance and change.ratio >= min_ratio


@attrs.frozen
class ChangePoint:
    """Where a count series changed level: the bucket index it starts at and how sure we are."""

    index: int
    g: float
    p_value: float
    rate_before: float
    rate_after: float


def change_point(counts: Sequence[int], *, min_segment: int = 1, rising: bool = True) -> ChangePoint | None:
    """The single split of ``counts`` that best explains them as two Poisson rates.

    Returns None when the series is empty or no split raises the likelihood. With ``rising``,
    only splits where the rate goes up are considered (an incident's onset).
    """
    n = len(counts)
    if n < 2 * min_segment:
        return None
    total = sum(counts)
    if total == 0:
        return None
    base = _xlogy(total, total / n)
    best: ChangePoint | None = None
    prefix = 0
    for k in range(1, n):
        prefix += counts[k - 1]
        if k < min_segment or n - k < min_segment:
            continue
        left, right = prefix, total - prefix
        rate_left, rate_right = left / k, right / (n - k)
        if rising and rate_right <= rate_left:
            continue
        g = 2.0 * (_xlogy(left, rate_left) + _xlogy(right, rate_right) - base) if total else 0.0
        if best is None or g > best.g:
            best = ChangePoint(
                index=k, g=g, p_value=_chi2_sf_1(g), rate_before=rate_left, rate_after=rate_right
            )
    return best
