import sys

from fake_llm.cli import main

sys.exit(main())
