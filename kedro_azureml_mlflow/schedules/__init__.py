"""Azure ML job schedules of a Kedro project: when (cron or recurrence, in Azure ML's time zones), what
(the command job ``submit`` builds, as a one-step pipeline) and the operations on them."""
