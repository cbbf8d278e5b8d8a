"""Cron, ``--every`` and time-zone parsing of ``kedro azureml schedule create``: checked before anything is sent."""

from __future__ import annotations

import pytest

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.schedules.cron import Every, check_cron, parse_every
from kedro_azureml_mlflow.schedules.definition import When
from kedro_azureml_mlflow.schedules.time_zones import IANA_TO_AZURE, azure_time_zone, azure_time_zones


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [
        ("0 2 * * *", "0 2 * * *"),
        ("  15 10   * * 1 ", "15 10 * * 1"),
        ("*/15 8-18/2 1,15 1-12 0-6", "*/15 8-18/2 1,15 1-12 0-6"),
        ("59 23 31 12 6", "59 23 31 12 6"),
    ],
)
def test_valid_cron_expressions_pass_single_spaced(expression: str, normalised: str) -> None:
    assert check_cron(expression) == normalised


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 2 * *", "has 4 fields; expected 5"),
        ("0 2 * * * *", "has 6 fields; expected 5"),
        ("60 2 * * *", "the minute field '60' is out of range"),
        ("0 24 * * *", "the hour field '24' is out of range"),
        ("0 2 0 * *", "the day of month field '0' is out of range"),
        ("0 2 * 13 *", "the month field '13' is out of range"),
        ("0 2 * * 7", "the day of week field '7' is out of range"),
        ("0 2 * * MON", "the day of week field 'MON' is not numeric crontab"),
        ("*/0 2 * * *", "the minute field '*/0' has a step of 0"),
        ("0 5-2 * * *", "the hour field '5-2' is a range that ends before it starts"),
        ("0 2 * * 1,", "the day of week field '1,' is not numeric crontab"),
    ],
)
def test_a_bad_cron_expression_is_one_line_naming_the_field(expression: str, message: str) -> None:
    with pytest.raises(PluginError) as raised:
        check_cron(expression)
    text = raised.value.format_message()
    assert message in text and "\n" not in text
    assert text.startswith(f"--cron '{expression}'")


@pytest.mark.parametrize(
    ("text", "every"),
    [
        ("1 day", Every(1, "day")),
        ("6 hours", Every(6, "hour")),
        ("week", Every(1, "week")),
        ("30 Minutes", Every(30, "minute")),
        ("2month", Every(2, "month")),
    ],
)
def test_every_reads_a_count_and_a_unit(text: str, every: Every) -> None:
    assert parse_every(text) == every


@pytest.mark.parametrize("text", ["0 days", "1 fortnight", "day 1", "", "-1 day", "1.5 hours"])
def test_every_refuses_what_is_not_a_recurrence(text: str) -> None:
    with pytest.raises(PluginError, match=r"^--every .* is not a recurrence; expected a positive number and one of"):
        parse_every(text)


@pytest.mark.parametrize(
    ("name", "azure"),
    [
        ("UTC", "UTC"),
        ("pacific standard time", "Pacific Standard Time"),
        ("America/Los_Angeles", "Pacific Standard Time"),
        ("Europe/Berlin", "W. Europe Standard Time"),
        ("Asia/Kolkata", "India Standard Time"),
        ("Etc/UTC", "UTC"),
    ],
)
def test_time_zones_are_azure_names_or_translated_iana_names(name: str, azure: str) -> None:
    assert azure_time_zone(name) == azure


def test_every_translation_lands_on_a_name_azure_ml_accepts() -> None:
    accepted = set(azure_time_zones())
    assert {zone for zone in IANA_TO_AZURE.values() if zone not in accepted} == set()


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("America/Argentina/Cordoba", "an IANA name without a clear Azure ML equivalent"),
        ("Mars Standard Time", "not an Azure ML time zone"),
    ],
)
def test_an_unknown_time_zone_is_refused_with_the_list(name: str, why: str) -> None:
    with pytest.raises(PluginError) as raised:
        azure_time_zone(name)
    text = raised.value.format_message()
    assert text.startswith(f"--time-zone '{name}' is {why}; expected one of Azure ML's: ")
    assert "Pacific Standard Time" in text and "Europe/Berlin" in text and "\n" not in text


@pytest.mark.parametrize(
    ("when", "sent"),
    [
        (
            When(time_zone="Pacific Standard Time", cron="0 2 * * *"),
            {"triggerType": "Cron", "expression": "0 2 * * *", "timeZone": "Pacific Standard Time"},
        ),
        (
            When(time_zone="UTC", every=Every(6, "hour")),
            {"triggerType": "Recurrence", "frequency": "hour", "interval": 6, "timeZone": "UTC"},
        ),
    ],
)
def test_the_trigger_azure_ml_receives(when: When, sent: dict[str, object]) -> None:
    """What the SDK puts in the schedule's ``trigger`` (read from its REST object, nothing sent)."""
    body = when.trigger()._to_rest_object().as_dict()
    assert {key: body[key] for key in sent} == sent
