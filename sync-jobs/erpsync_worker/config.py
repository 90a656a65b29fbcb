"""The worker's configuration, from the environment the operator's CronJobs set.

Every problem is a one-line ConfigError naming the variable, raised before any request is sent.
Secrets are read from files (the mounted Secrets) or from variables, and never printed.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from erpsync.api.vocabulary import APPROVALS, PROCORE_MODES, ProcoreMode

COST_CODE_CHOICES: Final = ("Standard", "Project", "StandardAndProject")
DEFAULT_BATCH_SIZE: Final = 1000
MAX_BATCH_SIZE: Final = 1000  # Procore's /sync endpoints take at most 1,000 items


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True)
class Secret:
    """A credential: its value never shows in repr, logs or summaries."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "***"


@dataclass(frozen=True)
class WorkerConfig:
    api_url: str
    login_url: str
    company_id: int
    procore_mode: ProcoreMode
    client_id: Secret
    client_secret: Secret
    database_url: Secret
    cost_codes: str
    create_projects: bool
    batch_size: int
    queries_file: Path | None
    ca_bundle: Path | None
    termination_message_path: Path
    # ErpConnector mode: the ERP Request that started the run (none: a scheduled run), and whether new
    # vendors and jobs wait for Procore's approver (Required) or are written directly (Automatic).
    erp_request_id: int | None = None
    vendors_approval: str = "Required"
    jobs_approval: str = "Required"


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _url(environ: Mapping[str, str], name: str) -> str:
    value = _required(environ, name).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={value!r} is not an http:// or https:// URL")
    return value


def _from_file_or_variable(environ: Mapping[str, str], directory_variable: str, key: str, variable: str) -> Secret:
    directory = environ.get(directory_variable, "").strip()
    if directory:
        path = Path(directory) / key
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"{directory_variable}: cannot read {path}: {error.strerror}") from error
        if not value:
            raise ConfigError(f"{directory_variable}: {path} is empty")
        return Secret(value)
    value = environ.get(variable, "").strip()
    if not value:
        raise ConfigError(f"neither {directory_variable} (a folder with file {key}) nor {variable} is set")
    return Secret(value)


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = environ.get(name, "").strip() or default
    if value is None:
        raise ConfigError(f"{name} is not set; allowed: {', '.join(choices)}")
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not allowed; allowed: {', '.join(choices)}")
    return value


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false"):
        raise ConfigError(f"{name}={value!r} is not allowed; allowed: true, false")
    return value == "true"


def _integer(environ: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        if default is None:
            raise ConfigError(f"{name} is not set")
        return default
    try:
        value = int(text)
    except ValueError as error:
        raise ConfigError(f"{name}={text!r} is not an integer") from error
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range; allowed: {low} to {high}")
    return value


def _procore_mode(environ: Mapping[str, str]) -> ProcoreMode:
    value = _choice(environ, "ERPSYNC_PROCORE_MODE", PROCORE_MODES, default="PublicApi")
    return next(mode for mode in PROCORE_MODES if mode == value)


def load_config(environ: Mapping[str, str] | None = None) -> WorkerConfig:
    env = os.environ if environ is None else environ
    queries = env.get("ERP_QUERIES_FILE", "").strip()
    if queries and not Path(queries).is_file():
        raise ConfigError(f"ERP_QUERIES_FILE={queries!r} is not a readable file")
    ca_bundle = env.get("PROCORE_CA_BUNDLE", "").strip()
    if ca_bundle and not Path(ca_bundle).is_file():
        raise ConfigError(f"PROCORE_CA_BUNDLE={ca_bundle!r} is not a readable file")
    return WorkerConfig(
        api_url=_url(env, "PROCORE_API_URL"),
        login_url=_url(env, "PROCORE_LOGIN_URL"),
        company_id=_integer(env, "PROCORE_COMPANY_ID", None, 1, 2**63 - 1),
        # Absent from the CronJobs of operators older than the modes, which ran the public-API way.
        procore_mode=_procore_mode(env),
        client_id=_from_file_or_variable(env, "PROCORE_CREDENTIALS_DIR", "client_id", "PROCORE_CLIENT_ID"),
        client_secret=_from_file_or_variable(env, "PROCORE_CREDENTIALS_DIR", "client_secret", "PROCORE_CLIENT_SECRET"),
        database_url=_from_file_or_variable(env, "ERP_CREDENTIALS_DIR", "url", "ERP_DATABASE_URL"),
        cost_codes=_choice(env, "ERPSYNC_COST_CODES", COST_CODE_CHOICES, default="StandardAndProject"),
        create_projects=_boolean(env, "ERPSYNC_CREATE_PROJECTS", default=False),
        batch_size=_integer(env, "ERPSYNC_BATCH_SIZE", DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE),
        queries_file=Path(queries) if queries else None,
        ca_bundle=Path(ca_bundle) if ca_bundle else None,
        termination_message_path=Path(env.get("TERMINATION_MESSAGE_PATH", "").strip() or "/dev/termination-log"),
        erp_request_id=(
            _integer(env, "ERPSYNC_ERP_REQUEST_ID", None, 1, 2**63 - 1)
            if env.get("ERPSYNC_ERP_REQUEST_ID", "").strip()
            else None
        ),
        vendors_approval=_choice(env, "ERPSYNC_VENDORS_APPROVAL", APPROVALS, default="Required"),
        jobs_approval=_choice(env, "ERPSYNC_JOBS_APPROVAL", APPROVALS, default="Required"),
    )
