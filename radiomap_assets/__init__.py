"""Label-free radio maps: the Dagster layer (``assets``, ``definitions``, ``jobs``, ``sensors``, ``checks``) on top of
plain domain code (``domain``: numpy/pandas/xarray, no Dagster, no torch). Import rules: ``pyproject.toml``
``[tool.importlinter]``, checked by ``tests/test_layout.py``."""
