"""What each step reads as parameters, and how each dataset crosses between steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.pipeline import node, pipeline

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.pipeline_jobs.data_routes import classify
from kedro_azureml_mlflow.pipeline_jobs.params import as_literal, from_literal, keys_read, nested, param_inputs
from kedro_azureml_mlflow.pipeline_jobs.plan import plan_pipeline
from kedro_azureml_mlflow.settings.config import SubmitConfig

PARAMS = {"model": {"C": 1.5, "layers": [8, 4], "name": "adam"}, "seed": 42, "debug": False}


def _f(*args: object) -> int:
    return 1


@pytest.mark.parametrize("value", [True, 3, 0.25, "text", [1, "a"], {"a": {"b": None}}, None])
def test_a_parameter_survives_the_trip_through_a_literal_input(value: object) -> None:
    type_, literal = as_literal(value)
    assert from_literal(type_, str(literal).lower() if type_ == "boolean" else str(literal)) == value


def test_each_step_reads_its_nodes_params_and_parameters_means_every_top_level_key() -> None:
    assert keys_read(["x", "params:model.C", "params:seed"], PARAMS) == ["model.C", "seed"]
    assert keys_read(["parameters"], PARAMS) == ["model", "seed", "debug"]
    inputs = param_inputs(["model.C", "model.layers", "missing.key"], PARAMS)
    assert {k: (p.input_name, p.type, p.value) for k, p in inputs.items()} == {
        "model.C": ("p_model_c", "number", 1.5),
        "model.layers": ("p_model_layers", "json", "[8, 4]"),
    }
    assert nested({"model.C": 2.0, "seed": 1}) == {"model": {"C": 2.0}, "seed": 1}


def test_datasets_are_classified_by_where_the_catalog_keeps_them(tmp_path: Path) -> None:
    assert classify(tmp_path, "a", {"type": "pandas.CSVDataset", "filepath": "data/02/a.csv"}) == (
        "file",
        "data/02/a.csv",
    )
    assert classify(tmp_path, "b", {"type": "kedro.io.MemoryDataset"}) == ("memory", "memory/b.pickle")
    assert classify(tmp_path, "c", {"type": "pandas.CSVDataset", "filepath": "abfs://box/c.csv"}) == ("remote", "")
    assert classify(tmp_path, "d", {"type": "pandas.SQLTableDataset", "table_name": "d"}) == ("remote", "")
    assert classify(tmp_path, "e", {"type": "pandas.CSVDataset", "filepath": "azureml:e:1"}) == ("remote", "")


def test_the_plan_routes_factories_memory_and_remote_data_and_places_steps(tmp_path: Path) -> None:
    p = pipeline(
        [
            node(_f, ["raw", "params:model.C"], "prep_table", name="prep", tags=["step.a"]),
            node(_f, "prep_table", "scratch", name="mid", tags=["step.a"]),
            node(_f, "prep_table", "remote_out", name="push", tags=["step.a", "gpu"]),
            node(_f, ["scratch", "remote_out", "parameters"], "model", name="train", tags=["step.b", "reusable"]),
        ]
    )
    catalog = {
        "{name}_table": {"type": "pandas.CSVDataset", "filepath": "data/{name}.csv"},
        "remote_out": {"type": "pandas.CSVDataset", "filepath": "s3://bucket/out.csv"},
        "model": {"type": "pickle.PickleDataset", "filepath": "data/model.pkl", "versioned": True},
    }
    submit = SubmitConfig(compute_by_tag={"gpu": "gpu-cluster"}, reuse_tags=["reusable"])
    plan = plan_pipeline(p, "tag", tmp_path, catalog, PARAMS, submit)
    a, b = plan.steps
    assert (a.name, a.after, b.after) == ("a", (), ("a",))
    assert {(r.dataset, r.kind, r.relative_path, r.consumers) for r in a.writes} == {
        ("prep_table", "file", "data/prep.csv", ()),
        ("scratch", "memory", "memory/scratch.pickle", ("b",)),
        ("remote_out", "remote", "", ("b",)),
    }
    assert [r.dataset for r in b.writes] == ["model"] and b.keeps_outputs
    assert a.compute is not None and a.compute.compute == "gpu-cluster" and b.compute is None
    assert (a.reuse, b.reuse) == (False, True)
    assert [x.key for x in a.params] == ["model.C"]
    assert [x.key for x in b.params] == ["model", "seed", "debug"]
    assert plan.mapping_tags()["kedro.param.p_model_c"] == "model.C"


def test_one_step_asking_for_two_computes_is_an_error_naming_the_nodes(tmp_path: Path) -> None:
    p = pipeline([node(_f, "a", "b", name="n1", tags=["gpu"]), node(_f, "b", "c", name="n2", tags=["big"])])
    submit = SubmitConfig(compute_by_tag={"gpu": "gpu-cluster", "big": {"compute": "cpu-big", "instance_count": 2}})
    with pytest.raises(
        PluginError,
        match=r"step `ns` holds nodes asking for different computes: "
        r"`ns.n1` \(gpu: gpu-cluster\), `ns.n2` \(big: cpu-big\)",
    ):
        plan_pipeline(pipeline(p, namespace="ns"), "namespace", tmp_path, {}, {}, submit)
