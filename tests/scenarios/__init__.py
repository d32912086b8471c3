"""The scenario corpus: a generator of realistic, noisy incidents as ``incident-flow eval`` cases.

``python -m tests.scenarios OUT_DIR --seeds 10`` writes every incident type for seeds 0-9. Each
case is a folder with its logs (in the formats real software writes), metrics, a git repository
with fixed dates, sometimes a change log, its ``incident-flow.toml`` and its ``case.toml``.

The generator is written independently of the analyzers: it imports nothing from
``incident_flow``'s analysis code or the plugins, and its message texts come from how the software
it imitates (nginx, PostgreSQL, the Linux kernel, sshd, psycopg2, HikariCP...) words them, so the
corpus measures the analyzers rather than mirroring them. See ``docs/scenarios.md``.
"""

from .generator import TYPES, build_case, generate
from .incidents import INCIDENTS

__all__ = ["INCIDENTS", "TYPES", "build_case", "generate"]
