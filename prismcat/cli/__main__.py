"""``python -m prismcat.cli``: the same as the ``prismcat`` command."""

import sys

from prismcat.cli import main

sys.exit(main())
