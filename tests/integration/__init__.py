"""Tests that use real SQLite stores, real `kedro run` subprocesses or a real `mlflow server`."""
