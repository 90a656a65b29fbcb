"""Structured logs (JSON by default, text for people) that never contain a secret.

The code never logs credentials; as a second line of defence, every known secret value, and every
fragment of a password in a known URL or connection string (a parser error may quote a piece of
it), is replaced by *** in each record before it is written, and so is the userinfo
(`user:password@`) of anything URL-shaped, whether or not it is a known secret.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote

_STANDARD: Final = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
MIN_FRAGMENT: Final = 4  # shorter pieces would blank out ordinary words
# scheme://userinfo@ : the userinfo runs to the last @ of the token, as an unencoded password may hold @.
_URL_USERINFO: Final = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s'\"<>]*@")
_USERINFO_OF_SECRET: Final = re.compile(r"^[^:/\s]*://(?P<userinfo>\S*)@")
_PASSWORD_KEY: Final = re.compile(r"(?:^|;)\s*(?:pwd|password)\s*=\s*(?P<value>[^;]*)", re.IGNORECASE)
# Where a URL parser cuts a password (coarse) and where any parser might (fine).
_DELIMITERS: Final = (re.compile(r"[:/@]+"), re.compile(r"[:/@?#%;&=,\s]+"))


def secret_fragments(secret: str) -> list[str]:
    """The secret, and for a URL or connection string its password and the password's pieces
    (split where a parser would split it), longest first."""
    pieces = {secret}
    passwords = [match.group("value") for match in _PASSWORD_KEY.finditer(secret)]
    userinfo = _USERINFO_OF_SECRET.match(secret)
    if userinfo is not None:
        pieces.add(userinfo.group("userinfo"))
        passwords.append(userinfo.group("userinfo").partition(":")[2])  # the user name is not split
    for password in passwords:
        for variant in (password, unquote(password)):
            pieces.add(variant)
            for delimiters in _DELIMITERS:
                pieces.update(delimiters.split(variant))
    return sorted((piece for piece in pieces if len(piece) >= MIN_FRAGMENT), key=len, reverse=True)


def redact_urls(text: str) -> str:
    """`scheme://user:password@host` -> `scheme://***@host`, for any URL."""
    return _URL_USERINFO.sub(lambda match: f"{match.group('scheme')}***@", text)


class Redactor(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        fragments = {fragment for secret in secrets for fragment in secret_fragments(secret)}
        self.secrets = sorted(fragments, key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = redact_urls(text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, default=str, ensure_ascii=False)


def configure(log_format: str, secrets: list[str]) -> Redactor:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    redactor = Redactor(secrets)
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry URLs with query strings
    return redactor
