"""The one line ``sync --job`` prints when a job left no journal: it names what was searched (the job, or its
steps or trials), so a sweep or pipeline job with nothing to send says how many child jobs were looked at."""

from __future__ import annotations

from kedro_azureml_mlflow.tracking.journal.job_journals import JobSources


def test_a_single_job_with_no_journal_says_it_sent_everything() -> None:
    line = JobSources("sharp_kite", "job", ["sharp_kite"]).nothing_left()
    assert line == "Job sharp_kite left no journal in its outputs: it sent everything it tracked."


def test_a_sweep_with_no_journal_names_its_trials() -> None:
    line = JobSources("sweep_1", "sweep", ["sweep_1_0", "sweep_1_1", "sweep_1_2"]).nothing_left()
    assert line == (
        "Sweep job sweep_1: none of its 3 trials that ran left a journal in its outputs: "
        "they sent everything they tracked."
    )


def test_a_pipeline_with_no_journal_names_its_steps_and_another_parent_its_child_jobs() -> None:
    assert "Pipeline job p: none of its 2 steps that ran" in JobSources("p", "pipeline", ["a", "b"]).nothing_left()
    assert "Other job q: none of its 1 child jobs that ran" in JobSources("q", "other", ["a"]).nothing_left()
