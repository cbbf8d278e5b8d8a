"""Everything between a Kedro run and the MLflow tracking server.

Pure pieces (``params``, ``metrics``, ``batching``) decide *what* is logged. The pipeline's side
(``tracked_run``, ``link``, ``worker``, ``node_code``) hands records to the tracking agent, a process
of its own (``agent_main``, ``agent``, ``agent_session``, ``sender``) that sends them; ``journal``
keeps what could not be sent, ``replay`` sends it later.
"""
