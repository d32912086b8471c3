"""Hypothesis settings for the reliability fuzz tests: 10,000 inputs each in CI, a few hundred locally.

``HYPOTHESIS_PROFILE=ci`` selects the CI profile (``.ci/run`` sets it); anything else, or nothing,
the quick one. The fuzz tests apply :data:`FUZZ` themselves, so the profile changes only them:
the rest of the suite keeps its own example counts.

The profiles are registered under their own names (``reliability-ci``, ``reliability-dev``), not
``ci``: Hypothesis loads a built-in profile called ``ci`` by itself whenever ``CI`` is set, and
re-registering that name would turn every property test of the suite into a 10,000-example one.
Both build on the profile Hypothesis loaded (in CI: derandomised, no example database), so a CI
run is reproducible.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["FUZZ", "FUZZ_EXAMPLES", "PROFILE", "SMALL"]

#: Inputs per fuzz test in CI (the issue asks for at least 10,000).
CI_EXAMPLES = 10_000
#: Inputs per fuzz test in a quick local run.
DEV_EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "300"))

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "reliability-ci",
    parent=settings.default,
    max_examples=CI_EXAMPLES,
    deadline=None,
    suppress_health_check=_SUPPRESSED,
)
settings.register_profile(
    "reliability-dev",
    parent=settings.default,
    max_examples=DEV_EXAMPLES,
    deadline=None,
    suppress_health_check=_SUPPRESSED,
)

#: ``ci`` or ``dev``: which one this run uses.
PROFILE = "ci" if os.environ.get("HYPOTHESIS_PROFILE", "").strip().lower() == "ci" else "dev"
#: The settings of the parser fuzz tests: ``@FUZZ`` above ``@given``.
FUZZ = settings.get_profile(f"reliability-{PROFILE}")
#: How many inputs each fuzz test gets in this run.
FUZZ_EXAMPLES: int = FUZZ.max_examples
#: For the slower properties (a whole run, a file per input): a tenth of the fuzz count.
SMALL = settings(FUZZ, max_examples=max(FUZZ_EXAMPLES // 10, 30))
