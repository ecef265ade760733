"""``python -m bench.mutation``: see :mod:`bench.mutation.run`."""

import sys

from bench.mutation.run import main

sys.exit(main())
