"""``python -m bench.fake_llm_bench``: see the package's docstring."""

import sys

from bench.fake_llm_bench.cli import main
from bench.fake_llm_bench.servers import stop_all

try:
    sys.exit(main())
finally:
    stop_all()
