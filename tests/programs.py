"""Programs of this environment that end-to-end tests start as processes.

A test module that starts them declares `pytestmark = pytest.mark.usefixtures("console_scripts")`,
which checks they are installed and puts its tests in the end-to-end tier.
"""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent
VICTIM_INTAKE = str(BIN / "victim-intake")
PREFECT = str(BIN / "prefect")
