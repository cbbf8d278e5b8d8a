"""A Kedro pipeline as an Azure ML pipeline job: nodes grouped into steps, each a command component
running ``kedro run`` for its nodes on the one code snapshot ``submit`` uploads.

Modules, one job each: ``grouping`` (nodes to steps, acyclic), ``naming`` (Azure ML's name rules),
``data_routes`` (what crosses each edge and how), ``params`` (the parameters each step reads, as
pipeline inputs), ``step_command`` (the step's command line), ``step_main`` and ``io.step_catalog`` (the
step's side, on the compute), ``plan`` (all of it for one submission), ``report`` (the dry run),
``build`` (the azure-ai-ml pipeline job).
"""
