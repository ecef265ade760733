"""The inner side of a grading, in its own network namespace: the session (:mod:`.session`) with
its fake LLM and pytest, the app as a sandboxed subprocess (:mod:`.app_process`), the checks' only
way to talk to it (:mod:`.client`), what a check saw (:mod:`.evidence`) and the shared state the
plugin reads (:mod:`.context`)."""
