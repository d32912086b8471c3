"""drain3 configured as its example ``drain3.ini`` (logpai/Drain3): the peer both log benchmarks
compare against, so they must configure it the same way."""

from __future__ import annotations

import re
from typing import Any

# drain3's examples/drain3.ini, verbatim: [MASKING] masking, mask_prefix and mask_suffix, then its
# [DRAIN] settings.
DRAIN3_INI_MASKS: tuple[tuple[str, str], ...] = (
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
)
DRAIN3_INI_PREFIX, DRAIN3_INI_SUFFIX = "<:", ":>"
DRAIN3_INI_DRAIN = {
    "sim_th": 0.4,
    "depth": 4,
    "max_children": 100,
    "max_clusters": 1024,
    "extra_delimiters": ["_"],
}
#: The ``<:NAME:>`` tokens its masks leave in templates.
DRAIN3_INI_WILDCARD = re.compile(r"<:[A-Z]+:>")


def drain3_ini_config() -> Any:
    """A ``TemplateMinerConfig`` as ``drain3.ini`` sets it (drain3 is imported only when called)."""
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(rx, name) for rx, name in DRAIN3_INI_MASKS]
    config.mask_prefix, config.mask_suffix = DRAIN3_INI_PREFIX, DRAIN3_INI_SUFFIX
    config.drain_sim_th = float(DRAIN3_INI_DRAIN["sim_th"])  # type: ignore[arg-type]
    config.drain_depth = int(DRAIN3_INI_DRAIN["depth"])  # type: ignore[call-overload]
    config.drain_max_children = int(DRAIN3_INI_DRAIN["max_children"])  # type: ignore[call-overload]
    config.drain_max_clusters = int(DRAIN3_INI_DRAIN["max_clusters"])  # type: ignore[call-overload]
    config.drain_extra_delimiters = list(DRAIN3_INI_DRAIN["extra_delimiters"])  # type: ignore[call-overload]
    return config
