"""Tests of the local watch mode (pipeline/watch*.py)."""
