"""``python -m incident_flow``: the same as the ``incident-flow`` command."""

import sys

from incident_flow.cli import main

sys.exit(main())
