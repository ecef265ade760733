"""Gives every check the faultfirst plugin's hooks and fixtures (see graders/checks/plugin.py)."""

from graders.checks.plugin import *  # noqa: F403
from graders.checks.plugin import (  # noqa: F401
    _check_frame,
    app,
    contract,
    evidence,
    exercises,
    fake,
    level,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_collectreport,
    pytest_configure,
    pytest_runtest_call,
    pytest_runtest_makereport,
    pytest_unconfigure,
    seed,
    truth,
)
