"""The hidden checks, one module per exercise (``test_<slug>.py``) plus ``test_soak.py``."""
