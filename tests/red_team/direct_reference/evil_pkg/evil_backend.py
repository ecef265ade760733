"""A PEP 517 build backend that writes a marker to every path listed in MARKERS.txt beside it.

If the grader ever builds this package, the markers prove that the submission's code ran on the
host, and as whom. It then refuses to build anything, so no installation follows.
"""

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _leave_markers() -> None:
    listed = _HERE / "MARKERS.txt"
    if not listed.is_file():
        return
    for line in listed.read_text().splitlines():
        if line.strip():
            with open(line.strip(), "w") as marker:
                marker.write(f"the submission's build backend ran as uid {os.getuid()}\n")


_leave_markers()


def get_requires_for_build_wheel(config_settings=None):
    raise RuntimeError("redteam-evil: this package never builds")


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("redteam-evil: this package never builds")


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError("redteam-evil: this package never builds")
