"""The tracking agent, a process of its own (``python -m kedro_azureml_mlflow.tracking.agent``):
the server (``server``), one session per ``kedro run`` (``session``), the sender (``sender``) and
its log (``agent_logging``). Kept light: ``__main__`` imports the rest once the process runs."""
