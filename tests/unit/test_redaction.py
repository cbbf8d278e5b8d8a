"""Redaction: which keys are secret, what is masked in params, command lines, URIs and log records."""

from __future__ import annotations

import logging
import sys

import pytest

from kedro_azureml_mlflow.core.errors import ConfigError
from kedro_azureml_mlflow.core.redaction import REDACTED, Redactor, mask_uri
from kedro_azureml_mlflow.settings.config_loading import validate_plugin_config
from kedro_azureml_mlflow.tracking.plan.run_info import run_tags


@pytest.mark.parametrize(
    "key",
    ["password", "db.password", "DB_PASSWORD", "apiKey", "api-key", "hf_token", "token", "clientSecret",
     "client_secret", "aws.secret_access_key", "credentials", "storage.connection_string", "sas"],
)  # fmt: skip
def test_secret_keys(key: str) -> None:
    assert Redactor().is_secret(key)


@pytest.mark.parametrize("key", ["max_tokens", "tokenizer", "model.lr", "author", "passes", "n_estimators"])
def test_ordinary_keys_are_not_secret(key: str) -> None:
    assert not Redactor().is_secret(key)


def test_nested_secrets_are_redacted_whole_and_remembered() -> None:
    redactor = Redactor()
    params = {
        "db": {"password": "hunter2-pw", "user": "bob"},
        "credentials": {"key": "sk-nested-1", "region": "eu"},
        "connections": [{"client_secret": "cs-in-a-list"}],
        "model": {"max_tokens": 512},
    }
    assert redactor.params(params) == {
        "db": {"password": REDACTED, "user": "bob"},
        "credentials": REDACTED,
        "connections": [{"client_secret": REDACTED}],
        "model": {"max_tokens": 512},
    }
    assert redactor.text("login with hunter2-pw failed; sk-nested-1 and cs-in-a-list") == (
        f"login with {REDACTED} failed; {REDACTED} and {REDACTED}"
    )


def test_custom_patterns_replace_the_defaults() -> None:
    redactor = Redactor(["*pin*"])
    assert redactor.params({"pin_code": 12345, "password": "kept"}) == {"pin_code": REDACTED, "password": "kept"}


def test_command_line_masks_secret_params_in_both_spellings() -> None:
    argv = ["run", "--params", "a=1,cli_token=sk-cli-111,db.password=pw-222", "--params=x.secret=zz-333,y=2"]
    assert Redactor().command(argv) == [
        "run",
        "--params",
        f"a=1,cli_token={REDACTED},db.password={REDACTED}",
        f"--params=x.secret={REDACTED},y=2",
    ]


def test_kedro_command_tag_is_masked(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setattr(sys, "argv", ["/venv/bin/kedro", "run", "--params", "cli_token=sk-cli-9999"])
    tags = run_tags({"run_id": "r"}, tmp_path, "local", Redactor())
    assert tags["kedro.command"] == f"kedro run --params cli_token={REDACTED}"


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (
            "postgresql://user:sk-pg-secret@db.example:5432/mlflow",
            f"postgresql://user:{REDACTED}@db.example:5432/mlflow",
        ),
        ("https://u:p%40ss@host/x?sig=SAS-SIG&sv=2024", f"https://u:{REDACTED}@host/x?sig={REDACTED}&sv=2024"),
        ("http://host:5000/path?token=abc123&x=1", f"http://host:5000/path?token={REDACTED}&x=1"),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
    ],
)
def test_uris_are_printed_without_their_secrets(uri: str, shown: str) -> None:
    assert mask_uri(uri) == shown


def test_config_errors_never_echo_a_secret_value() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_plugin_config({"tracking": {"tracking_uri": "nosuch://u:sk-cfg-secret@h/x"}}, [])
    assert "sk-cfg-secret" not in caught.value.message
    assert "unknown scheme 'nosuch://'" in caught.value.message


def test_malformed_log_calls_are_left_for_logging_to_report(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "%s %s", ("one",), None)
    assert record.msg == "%s %s"  # untouched: logging itself reports the bad call when it emits
