"""Pieces any benchmark can reuse: scratch projects, a counting proxy, a real ``mlflow server``,
a Kedro launcher that hides plugins, kedro-mlflow's venv, timed scenarios and their report.

``benchmarks/tracking_overhead.py`` composes them; its scenarios live in :mod:`.scenarios`.
"""
