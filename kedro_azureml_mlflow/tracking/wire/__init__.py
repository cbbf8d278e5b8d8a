"""What crosses between processes: the records (``records``, ``batching``), the agent's messages
(``protocol``) and the socket they travel on (``channel``). Imports nothing else of ``tracking``."""
