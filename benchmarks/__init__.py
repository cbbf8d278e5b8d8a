"""Benchmarks: timed runs of real Kedro projects (see README.md). Not part of the installed plugin."""
