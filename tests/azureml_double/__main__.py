"""``python -m tests.azureml_double <config.json>``: run the fake control plane (see ``server.py``)."""

import sys

from tests.azureml_double.server import main

main(sys.argv)
