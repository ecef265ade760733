"""Hidden graders: pytest checks that judge a submission from the outside, and the harness that runs them.

``graders.checks`` holds the checks (one module per exercise) and the pytest plugin that gives
them their fixtures; ``graders.harness`` copies, installs, sandboxes and starts a submission,
runs the checks in an isolated inner session, and writes the reports. Nothing here imports the
candidate's code: the checks talk to the app over HTTP and read the fake LLM's ledger.
"""
