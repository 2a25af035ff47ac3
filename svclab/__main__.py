"""`python -m svclab run ...` (the same as the `svclab` command)."""

import sys

from svclab.cli import main

sys.exit(main())
