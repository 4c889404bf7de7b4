"""``python -m server.cli``: the ``convene`` command."""

import sys

from server.cli.commands import main

sys.exit(main())
