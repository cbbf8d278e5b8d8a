"""``kedro azureml sweep``: try many values of Kedro parameters and keep the best run.

Pure parts (``search_space``, ``sampling``, ``settings``) import nothing heavy; ``local_runner``
runs trials as ``kedro run`` processes, each a child MLflow run of one parent sweep run;
``azure_job`` builds the same sweep as an Azure ML sweep job and ``azure_follow`` follows it from here.
"""
