"""The project's settings: the ``azureml.yml`` model and how it is read (``config``,
``config_loading``, ``validation``), up-front checks of values (``checks``), the default file
(``init_config``) and the plugin's view of a Kedro project (``project``)."""
