"""Tests of and with the local Azure ML double (`tests/azureml_double`)."""
