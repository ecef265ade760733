"""Run the service: ``python -m litreview [--host HOST] [--port PORT]``."""

from __future__ import annotations

import argparse

import uvicorn

from litreview.app import create_app
from litreview.config import ConfigError


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve the app until interrupted."""
    parser = argparse.ArgumentParser(prog="litreview", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default: info)")
    args = parser.parse_args(argv)
    try:
        app = create_app()
    except ConfigError as exc:
        parser.exit(2, f"litreview: {exc}\n")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
