"""``python -m devhost serve …`` / ``python -m devhost eventhub send …``."""

import sys

from devhost.cli import main

sys.exit(main())
