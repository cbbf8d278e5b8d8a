"""Every dataset a user puts in a catalog (public paths: :mod:`kedro_azureml_mlflow.datasets`):
artifacts and models into the run (``artifacts``), metrics (``metrics_dataset``), data kept in the
workspace (``workspace_data``), and asking the catalog what it declares (``catalog_lookup``)."""
