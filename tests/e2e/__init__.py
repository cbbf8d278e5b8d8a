"""Slow end-to-end tests: real Kedro projects run with `kedro run` / `kedro azureml ...` subprocesses."""
