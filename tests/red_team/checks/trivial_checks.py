"""One check that passes when the app answers its health check (row 9: it should never run).

Copied by tests/test_red_team.py as ``test_trivial.py``.
"""

from graders.checks.plugin import check


@check(exercise="retries", tag="correctness", points=1)
def test_app_answers(app):
    """The app answers GET /health."""
    assert app.get("/health").status == 200, "the app did not answer GET /health"
