"""What could not be sent, kept on disk (``journal``, ``kept_files``) and sent later exactly once
(``replay``, ``replay_progress``); a job's journals fetched from its outputs (``job_journals``)."""
