"""Keep secrets out of what the plugin logs to MLflow, tags runs with, prints and journals.

Parameters whose key (or any key above them) matches one of ``tracking.redact``'s patterns are
replaced by ``<redacted>`` before anything else sees them; the values they held are remembered
so that the same text is masked wherever else it turns up (an error message, a log line, the
``kedro.command`` tag). Passwords in URIs (``scheme://user:password@host``) and secret-named
query values (``?sig=…``) are always masked.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

# Not "[redacted]": rich (Kedro's log handler) would read that as markup and print nothing.
REDACTED = "<redacted>"
# Shell-style, case-insensitive, matched against each part of a key path (camelCase read as
# snake_case): `db.password`, `apiKey` and `hf_token` are secrets; `max_tokens` and `tokenizer` are not.
DEFAULT_PATTERNS = (
    "*password*",
    "*passwd*",
    "pwd",
    "*_pwd",
    "*secret*",
    "token",
    "*_token",
    "*api_key*",
    "*apikey*",
    "*access_key*",
    "*private_key*",
    "*credential*",
    "*connection_string*",
    "*conn_str*",
    "sig",
    "sas",
    "*_sas",
)
# Shorter values are not remembered for masking elsewhere: "1" or "yes" would mask half the log.
MIN_REMEMBERED = 4

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_URI_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)(?P<password>[^\s@/]+)(?=@)")
_QUERY_VALUE = re.compile(r"(?P<head>[?&;](?P<key>[^\s=&?#;]+)=)(?P<value>[^\s&#;\"']+)")


class Redactor:
    """Decides which keys are secret and masks the values it has seen under them."""

    def __init__(self, patterns: Iterable[str] = DEFAULT_PATTERNS) -> None:
        self.patterns = tuple(pattern.lower() for pattern in patterns)
        self.secrets: set[str] = set()
        self._lock = threading.Lock()

    def is_secret(self, key: str) -> bool:
        """Whether a key (``a.b.c`` paths are read part by part) names a secret."""
        parts = (_CAMEL.sub("_", part).replace("-", "_").lower() for part in str(key).split("."))
        return any(fnmatch.fnmatchcase(part, pattern) for part in parts for pattern in self.patterns)

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of nested parameters with every secret-named key's value (all of it) redacted."""
        return {key: self._value(key, value) for key, value in values.items()}

    def _value(self, key: Any, value: Any) -> Any:
        if self.is_secret(str(key)):
            self.remember(value)
            return REDACTED
        if isinstance(value, Mapping):
            return self.params(value)
        if isinstance(value, (list, tuple)):
            return [self._value("", item) for item in value]
        return value

    def remember(self, value: Any) -> None:
        """Mask ``value`` (every leaf of it) wherever :meth:`text` sees it from now on."""
        with self._lock:
            self.secrets.update(text for text in map(str, _leaves(value)) if len(text) >= MIN_REMEMBERED)

    def text(self, text: str) -> str:
        """``text`` with URI passwords, secret query values and every remembered secret masked."""
        masked = _URI_PASSWORD.sub(lambda m: m["head"] + REDACTED, text)
        masked = _QUERY_VALUE.sub(lambda m: m["head"] + (REDACTED if self.is_secret(m["key"]) else m["value"]), masked)
        with self._lock:
            secrets = sorted(self.secrets, key=len, reverse=True)
        for secret in secrets:
            masked = masked.replace(secret, REDACTED)
        return masked

    def command(self, argv: Sequence[str]) -> list[str]:
        """A command line with secret ``--params`` values (``--params a.token=x`` or ``--params=…``) masked."""
        masked: list[str] = []
        for arg in argv:
            if masked and masked[-1] == "--params":
                masked.append(self.params_option(arg))
            elif arg.startswith("--params="):
                masked.append("--params=" + self.params_option(arg[len("--params=") :]))
            else:
                masked.append(arg)
        return [self.text(arg) for arg in masked]

    def params_option(self, value: str) -> str:
        """``a=1,db.password=x`` (Kedro's ``--params`` syntax) with secret values masked and remembered."""
        return ",".join(self._params_item(item) for item in value.split(","))

    def _params_item(self, item: str) -> str:
        key, equals, text = item.partition("=")
        if not (equals and self.is_secret(key.strip())):
            return item
        self.remember(text.strip())
        return f"{key}={REDACTED}"

    def secret_keys(self, params_option: str) -> list[str]:
        """The secret-named keys of a ``--params`` value."""
        keys = (item.partition("=")[0].strip() for item in params_option.split(",") if "=" in item)
        return [key for key in keys if self.is_secret(key)]


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield value


class _Process:
    """The process-wide state: the active run's redactor, and whether log records are masked yet."""

    redactor = Redactor()
    masking_logs = False


def activate(patterns: Iterable[str], *uris: str) -> Redactor:
    """The redactor for this run, also masking every log record of the process from now on.

    Log records are masked where they are made (a record factory), because MLflow's own logger
    does not pass through the root logger's handlers.
    """
    redactor = Redactor(patterns)
    redactor.remember([match["password"] for uri in uris for match in _URI_PASSWORD.finditer(uri)])
    _Process.redactor = redactor
    if not _Process.masking_logs:
        _install_record_factory()
        _Process.masking_logs = True
    return redactor


def active() -> Redactor:
    """The redactor of the run this process tracks (default patterns before any run)."""
    return _Process.redactor


def mask_uri(uri: str) -> str:
    """A URI fit to print: its password and secret-named query values masked."""
    return Redactor().text(uri)


def scrub(text: str) -> str:
    """``text`` masked by the active run's redactor (the default patterns before any run)."""
    return _Process.redactor.text(text)


def _install_record_factory() -> None:
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            return record  # logging reports the malformed call itself when it emits the record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(masked_record)
