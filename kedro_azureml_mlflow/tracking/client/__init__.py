"""The one way a record reaches an MLflow server (``client_ops``, ``artifact_ops``), the lock on the
embedded store's creation (``store_lock``), and finding what a run already holds (``idempotency``)."""
