"""Tests with no subprocess, no server, no socket and no SQLite store: the quick loop (see tests/unit/conftest.py)."""
