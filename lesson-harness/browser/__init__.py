"""Browser tests of the lesson in JupyterLab. A package, so that its conftest does not
shadow lesson-harness/tests/conftest.py (imported there as `conftest`) when both are collected."""
