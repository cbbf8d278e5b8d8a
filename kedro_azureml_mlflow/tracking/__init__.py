"""Everything between a Kedro run and the MLflow tracking server.

Pure pieces (``params``, ``metrics``, ``batching``) decide *what* is logged; ``writer`` decides
*when* and sends it off the pipeline's critical path; ``journal`` keeps what could not be sent.
"""
