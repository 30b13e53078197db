"""Browser tests of the lesson in JupyterLab. A package, so that its conftest does not
shadow notebooks/tests/conftest.py (imported there as `conftest`) when both are collected."""
