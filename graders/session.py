"""``python -m graders.session``: the inner grading session (see graders.harness.session)."""

import sys

from graders.harness.session import main

if __name__ == "__main__":
    sys.exit(main())
