"""The pipeline's side of tracking: what the hooks call (``tracked_run``), the link to the agent
(``link``), ParallelRunner workers (``worker``), node code's own MLflow calls (``node_code``), and
finding or starting the agent (``launcher``). Never imports MLflow, but in ``journal_store``, which MLflow itself
loads through ``journal_plugin``."""
