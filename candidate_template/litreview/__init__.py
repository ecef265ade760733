"""litreview: a small literature-review service backed by a language model.

Where things live:

- ``app.py``      builds the FastAPI app (``create_app``) and the clients it shares;
- ``api/``        one module per group of endpoints;
- ``llm/``        the language-model client and the values it returns;
- ``prompts.py``  what the app asks the model, ``citations.py`` how it reads cited answers;
- ``papers.py``   the local corpus (``data/papers.json``);
- ``schemas.py``  request and response bodies; ``errors.py`` every error the API returns;
- ``config.py``   settings from the environment.
"""

__version__ = "0.1.0"
