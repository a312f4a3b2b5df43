"""Shared pytest configuration: registers fixture plugins for the whole test tree."""

pytest_plugins = ["tests.gcs"]
