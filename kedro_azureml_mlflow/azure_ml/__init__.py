"""Reaching Azure ML: which workspace (``workspace``), how to sign in (``credentials``), the
workspace's clients and its errors as one line (``client``), and MLflow's ``azureml://`` store signed
in with the same credential (``mlflow_sign_in``). The SDK is imported on first use only."""
