"""Fixtures for every test of the repository: the real stack (postgres, kafka, stack)."""

pytest_plugins = ["newsroom_devstack.pytest_plugin"]
