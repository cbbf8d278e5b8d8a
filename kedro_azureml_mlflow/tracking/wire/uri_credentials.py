"""Keep the credential of a tracking URI out of journals, and put it back at replay.

A tracking URI may carry one (``postgresql://u:pw@host/db``, ``https://user:pw@host``,
``…?password=pw``). A journal is a file on disk, often uploaded (a job's ``./outputs``), so it
keeps the URI without it (removed, not masked: the stored URI stays usable as it is);
``kedro azureml sync`` takes the credential from where the user keeps it: the project's own
tracking URI when it names the same server, or ``MLFLOW_TRACKING_PASSWORD``. Printing a URI or a
message is ``redaction``'s job.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from kedro_azureml_mlflow.core.redaction import Redactor

PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
# Query parameters that hold credentials (``password``, ``sig``, ``token``…), named as redaction names secrets.
_is_secret_key = Redactor().is_secret


@dataclass(frozen=True)
class _Parts:
    scheme: str
    user: str
    password: str
    host: str
    path: str
    query: list[tuple[str, str]]
    fragment: str


def _split(uri: str) -> _Parts | None:
    parts = urlsplit(uri)
    if not parts.scheme or "://" not in uri:
        return None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    return _Parts(
        parts.scheme,
        user,
        password if has_password else "",
        host,
        parts.path,
        parse_qsl(parts.query, keep_blank_values=True),
        parts.fragment,
    )


def _join(parts: _Parts, user: str, password: str, query: list[tuple[str, str]]) -> str:
    userinfo = user + (f":{password}" if password else "")
    netloc = f"{userinfo}@{parts.host}" if userinfo else parts.host
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*/:"), parts.fragment))


def secrets_in(uri: str) -> list[str]:
    """The credential values ``uri`` carries (as written and decoded)."""
    parts = _split(uri)
    if parts is None:
        return []
    values = [parts.password] + [value for key, value in parts.query if _is_secret_key(key)]
    return sorted({form for value in values if value for form in (value, unquote(value))}, key=len, reverse=True)


def without_credentials(uri: str) -> str:
    """``uri`` with its password and secret query values removed (what a journal stores)."""
    parts = _split(uri)
    if parts is None or not secrets_in(uri):
        return uri
    query = [(key, value) for key, value in parts.query if not _is_secret_key(key)]
    return _join(parts, parts.user, "", query)


def with_credentials(recorded: str, known: Iterable[str]) -> str:
    """The URI to connect to for ``recorded`` (stored without its credential).

    A known URI (the project's configured or environment tracking URI) naming the same scheme,
    user and host supplies it; otherwise ``MLFLOW_TRACKING_PASSWORD`` fills in the
    password of a URI that names a user. Without either, ``recorded`` is used as it is (a server
    without a password, or a driver that reads its own environment, such as ``PGPASSWORD``).
    """
    target = _split(recorded)
    if target is None or target.password:
        return recorded
    for candidate in known:
        parts = _split(candidate)
        if (
            parts is not None
            and secrets_in(candidate)
            and (parts.scheme, parts.user, parts.host.lower())
            == (
                target.scheme,
                target.user,
                target.host.lower(),
            )
        ):
            secret_query = [(key, value) for key, value in parts.query if _is_secret_key(key)]
            return _join(target, target.user, parts.password, [*target.query, *secret_query])
    password = os.environ.get(PASSWORD_ENV)
    if password and target.user:
        return _join(target, target.user, quote(password, safe=""), target.query)
    return recorded
