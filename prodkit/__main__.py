"""`python -m prodkit ...` is the `prodkit` command."""

import sys

from stacks.cli import main

sys.exit(main())
