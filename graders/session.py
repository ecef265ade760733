"""``python -m graders.session``: the inner grading session (see graders.harness.inner.session)."""

import sys

from graders.harness.inner.session import main

if __name__ == "__main__":
    sys.exit(main())
