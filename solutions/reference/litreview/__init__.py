"""litreview: a small literature-review service backed by a language model.

Where things live:

- ``app.py``          builds the FastAPI app (``create_app``) and the clients it shares;
- ``api/``            one module per group of endpoints;
- ``llm/``            providers, and the policy around them (``llm/gateway.py``: deadlines,
                      retries, breakers, fallback, usage; ``llm/streaming.py`` for streams);
- ``generation.py``   validating answers and re-asking; ``structured.py`` reading the JSON;
- ``prompts.py``      what the app asks the model, ``citations.py`` how it reads cited answers;
- ``papers.py``       the local corpus (``data/papers.json``);
- ``schemas.py``      request and response bodies; ``errors.py`` every error, mapped in one place;
- ``policy.py``       every reliability number; ``clock.py`` time, passed in;
- ``config.py``       settings from the environment.
"""

__version__ = "0.1.0"
