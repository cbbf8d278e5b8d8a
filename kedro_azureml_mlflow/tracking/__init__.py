"""Everything between a Kedro run and the MLflow tracking server, one folder per room, lowest first.

``wire``: the records and messages that cross processes, and the socket; ``client``: the one way a
record reaches MLflow; ``journal``: what could not be sent, kept and replayed; ``plan``: what is
tracked and where (pure, no network); ``pipeline_side``: what the hooks, ParallelRunner workers and
node code call (never imports MLflow); ``agent``: the tracking agent process that sends the records.
"""
