"""What is tracked and where, decided without a network call: the target (``target``), parameters,
metrics and run tags (``params``, ``metrics``, ``run_info``), which process tracks (``ranks``), and
joining a run someone else opened (``coexist``)."""
