"""The test suite's settings: the portal's own, on the embedded default's development values.

Tests run on the development key, console email and development sealing files, which a
production process (PORTAL_DEBUG false) refuses to start with (portal/production.py). So the
settings are read with PORTAL_DEBUG on; Django's test set-up then runs every test with DEBUG off.
"""

from __future__ import annotations

import os

os.environ["PORTAL_DEBUG"] = "true"

from portal.settings import *  # noqa: F403
