"""``python -m loadrec.engine``: the ``loadrec`` command, for a process started without the console script."""

import sys

from loadrec.engine.cli import main

sys.exit(main())
