"""Train and evaluate a classifier on the iris data set."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
