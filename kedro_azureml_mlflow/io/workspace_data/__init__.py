"""The workspace's data from the catalog: datastore paths and data assets, read and written in place.

``locations`` parses ``azureml://`` and ``azureml:<name>:<version>`` (pure); ``access`` signs in
and opens them through azureml-fsspec (the ``[data]`` extra); ``dataset`` is the catalog's
``AzureMLDataset``; ``catalog_check`` and ``hooks`` find such paths before a run or a submit.
"""
