"""Kedro names as Azure ML step and input names."""

from __future__ import annotations

import re

from kedro_azureml_mlflow.pipeline_jobs.naming import safe_names, sanitise

AZURE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def test_dots_and_capitals_become_the_allowed_characters() -> None:
    assert sanitise("prep.make_table") == "prep_make_table"
    assert sanitise("model.C") == "model_c"
    assert sanitise("2nd step") == "_2nd_step"


def test_names_differing_only_in_case_are_kept_apart() -> None:
    names = safe_names(["model.C", "model.c", "other"])
    assert names["other"] == "other"
    assert names["model.C"] != names["model.c"]
    assert all(AZURE_NAME.fullmatch(v) for v in names.values())
    assert names["model.C"].startswith("model_c_") and names["model.c"].startswith("model_c_")


def test_prefix_is_added_and_mapping_is_stable() -> None:
    assert safe_names(["a.b"], prefix="p_") == {"a.b": "p_a_b"}
    assert safe_names(["x.Y", "x.y"]) == safe_names(["x.Y", "x.y"])
