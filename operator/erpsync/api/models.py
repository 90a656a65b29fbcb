"""Pydantic models of ErpSyncSchedule: the one source of truth of the API.

The CRD in `crds/` is generated from these models (see `crd.py`); `erp-sync validate` and the
operator validate with them. They are strict, as the API server is: `suspend: "yes"` and
`companyId: "42"` are refused, unknown fields are refused, and only the camelCase field names of
the API are accepted. An integral number written as a float (`companyId: 42.0`, `1e2`) is an integer
to the API server, and so to the models (see `Integer`).
"""

import copy
from datetime import datetime
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from erpsync.api.profiles import (
    APPROVED_SYNCS,
    DEFAULT_PROCORE_MODE,
    MODES,
    PROFILES,
    REQUESTS_ONLY_FREQUENCY_REASON,
    STAGED_JOBS_REASON,
    approval_refusal_reason,
    mode_refusal_reason,
    refusal,
    run_on_refusal_reason,
)
from erpsync.api.run_counts import RunCountFields
from erpsync.api.timezones import tzdata_version, zone_name_set, zone_names
from erpsync.api.vocabulary import (
    API_GROUP,
    API_VERSION,
    KIND,
    SYNC_NAMES,
    Approval,
    ConcurrencyPolicy,
    CostCodes,
    ErpName,
    Frequency,
    ImagePullPolicy,
    ProcoreEnvironment,
    ProcoreMode,
    RunOn,
    SuspendedBy,
    SyncName,
    TaintEffect,
    TolerationOperator,
)

# RFC 1123 subdomain, the form of Secret and ConfigMap names. No lookarounds: the API server's
# regex engine (RE2) has none.
DNS_SUBDOMAIN_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DAILY_TIME_PATTERN: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
# ASCII whitespace spelled out: `\s` also matches Unicode spaces in Python but not in RE2.
HTTP_URL_PATTERN: Final = r"^https?://[^\t\n\v\f\r /?#]+([/?#][^\t\n\v\f\r ]*)?$"
# A container image reference, kept simple: printable ASCII without spaces (`!` to `~`). Every valid
# reference (registry[:port]/path[:tag][@sha256:digest], IPv6 registries in brackets included) is
# such text, and whitespace, control characters (a newline that would split a log line or a YAML
# scalar) and what is not ASCII are refused; the exact grammar is left to the container runtime.
IMAGE_PATTERN: Final = r"^[!-~]+$"
# A Kubernetes resource quantity ("500m", "1Gi", "0.5").
_DECIMAL: Final = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
QUANTITY_PATTERN: Final = rf"^(\+|-)?{_DECIMAL}(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?{_DECIMAL}))?$"
# The range of the API server's `type: integer`. Bounds at these limits stay in the models only:
# the CRD leaves them out (see crd.py), as the server refuses integers beyond int64 by itself.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def _without_null_fields(model: type[BaseModel], data: Any) -> Any:
    # The API server prunes nulls of non-nullable fields before defaulting: `suspend: null`
    # means "not set". Only declared fields: an unknown field is refused even when null.
    if isinstance(data, dict):
        declared = {info.alias or name for name, info in model.model_fields.items()}
        return {key: value for key, value in data.items() if value is not None or key not in declared}
    return data


# As the API server reads objects: strict types (no "42" for 42), the API's camelCase names only,
# unknown fields refused.
STRICT_API_CONFIG: Final = ConfigDict(
    strict=True,
    extra="forbid",
    alias_generator=to_camel,
    validate_by_alias=True,
    validate_by_name=False,
    serialize_by_alias=True,
)


class NullPruningModel(BaseModel):
    """Reads null-valued declared fields as absent, as the API server prunes them before defaulting."""

    @model_validator(mode="before")
    @classmethod
    def _drop_null_fields(cls, data: Any) -> Any:
        return _without_null_fields(cls, data)


class ApiModel(NullPruningModel):
    """Base of every spec model: strict types, camelCase names only, unknown fields refused."""

    model_config = ConfigDict(**STRICT_API_CONFIG, frozen=True)


def _drop_null_entries(value: Any) -> Any:
    # Map values (nodeSelector, resource limits) are pruned the same way when null.
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if item is not None}
    return value


# --- Integers ----------------------------------------------------------------------------------
# JSON has one number type. The API server decodes a number written with a fraction or an exponent
# (42.0, 1e2) as a float64, takes one with no fractional part for an integer and stores the integer:
# below 2**53 in magnitude for the schema's `type: integer` (kube-openapi's IsFloat64AJSONInteger;
# beyond, float64 is not exact), below 2**63 for ObjectMeta's Go int64 fields. Fractions, larger
# floats, strings ("42") and booleans stay refused. Every integer of the models is one of the types
# below; they differ only in where pydantic applies bounds:
# - Integer: a field with bounds of its own, `Field(ge=1, le=100)`.
# - OptionalInteger: the same, optional. Not `Integer | None`, which would get the field's bounds in
#   after-validators whose JSON schema says `ge` for `minimum`: the CRD would break.
# - Int64, ObjectMetaInteger: no bounds of their own, so the int64 range, placed before the conversion
#   (after it, the range would be checked in after-validators). Not for a field with `Field(ge=...)`:
#   pydantic would drop the field's bounds.
SCHEMA_INTEGRAL_FLOAT_BOUND: Final = 2**53
OBJECT_META_INTEGRAL_FLOAT_BOUND: Final = 2**63


def _integral_floats_as_int(bound: int) -> BeforeValidator:
    """Reads a float with no fractional part and a magnitude below `bound` as the int. Anything else
    goes to the strict int validation unchanged, which refuses all but an int."""

    def integral_float_as_int(value: Any) -> Any:
        if type(value) is float and value.is_integer() and -bound < value < bound:
            return int(value)
        return value

    return BeforeValidator(integral_float_as_int)


_SCHEMA_INTEGRAL_FLOATS: Final = _integral_floats_as_int(SCHEMA_INTEGRAL_FLOAT_BOUND)
_INT64_RANGE: Final = Field(ge=INT64_MIN, le=INT64_MAX)
Integer = Annotated[int, _SCHEMA_INTEGRAL_FLOATS]
OptionalInteger = Annotated[int | None, _SCHEMA_INTEGRAL_FLOATS]
Int64 = Annotated[int, _INT64_RANGE, _SCHEMA_INTEGRAL_FLOATS]
ObjectMetaInteger = Annotated[int, _INT64_RANGE, _integral_floats_as_int(OBJECT_META_INTEGRAL_FLOAT_BOUND)]

DnsSubdomain = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
HttpUrl = Annotated[str, StringConstraints(min_length=8, max_length=2048, pattern=HTTP_URL_PATTERN)]
DailyTime = Annotated[str, StringConstraints(max_length=5, pattern=DAILY_TIME_PATTERN)]


def _known_zone(name: str) -> str:
    if name not in zone_name_set():
        raise PydanticCustomError(
            "time_zone",
            "unknown time zone {zone}; allowed: an IANA zone name of tzdata {version} "
            "(for example UTC, America/New_York, Europe/Paris)",
            {"zone": repr(name), "version": tzdata_version()},
        )
    return name


TimeZoneName = Annotated[
    str,
    AfterValidator(_known_zone),
    WithJsonSchema({"type": "string", "enum": list(zone_names())}),
]
Quantity = Annotated[
    Int64 | Annotated[str, StringConstraints(max_length=64, pattern=QUANTITY_PATTERN)],
    WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_PATTERN,
            "maxLength": 64,
        }
    ),
]


# Maps: null entries pruned (as the API server does), size bounded (keeps CEL cost estimates low).
ResourceList = Annotated[dict[str, Quantity], BeforeValidator(_drop_null_entries), Field(max_length=16)]
NodeSelector = Annotated[
    dict[str, Annotated[str, StringConstraints(max_length=63)]],
    BeforeValidator(_drop_null_entries),
    Field(max_length=32),
]


class ObjectReference(ApiModel):
    """A reference to an object in the schedule's namespace."""

    name: DnsSubdomain = Field(description="Name of the object, in the schedule's namespace.")


class ProcoreSettings(ApiModel):
    """Which Procore company to sync into, and how to reach it."""

    company_id: Integer = Field(ge=1, le=INT64_MAX, description="The Procore company id (a 64-bit integer).")
    environment: ProcoreEnvironment = Field(
        default="Production",
        description="Procore environment; selects the login and API hosts "
        "(Production: login.procore.com/api.procore.com; Sandbox: login-sandbox.procore.com/"
        "sandbox.procore.com; MonthlySandbox: login-sandbox-monthly.procore.com/api-monthly.procore.com).",
    )
    api_url: HttpUrl | None = Field(default=None, description="Overrides the environment's API base URL.")
    login_url: HttpUrl | None = Field(default=None, description="Overrides the environment's login base URL.")
    credentials_secret_ref: ObjectReference = Field(
        description="Secret holding the OAuth client credentials, keys client_id and client_secret."
    )
    mode: ProcoreMode = Field(
        default=DEFAULT_PROCORE_MODE,
        description="How the workers talk to Procore. PublicApi (the default): public endpoints only, which a "
        "plain service account reaches; vendors and jobs are written directly, payments as contract payments, "
        "and jobCosts is refused (it needs ERP-only endpoints). ErpConnector: Procore's ERP integration "
        "protocol, which needs an ERP connection (partner access); new vendors and jobs are staged for "
        "approval, payments go through invoice payments, and syncs can run on ERP Requests (runOn).",
    )


class ErpConnection(ApiModel):
    """How the workers reach the ERP database."""

    secret_ref: ObjectReference = Field(description="Secret holding the ERP database URL, key url.")
    queries_config_map_ref: ObjectReference | None = Field(
        default=None,
        description="ConfigMap with key queries.yaml that replaces canonical views with queries.",
    )


class SyncSettings(ApiModel):
    """One sync option of the ERP Integrations tool's Sync Schedule form."""

    frequency: Frequency | None = Field(
        default=None,
        description="How often the sync runs. Omitted: the ERP profile's default (shown in status).",
    )
    suspend: bool = Field(default=False, description="Suspends this sync's CronJob.")
    at: DailyTime | None = Field(
        default=None,
        description='Local time ("HH:MM", quoted) of a Daily run, in spec.timeZone. '
        "Only with frequency Daily. Omitted: a time between 04:00 and 05:59 chosen from the schedule's name.",
    )
    run_on: RunOn | None = Field(
        default=None,
        description="What starts the sync's runs: Schedule (its frequency), ErpRequests (Procore's ERP Requests, "
        "delivered by webhook; no scheduled runs, frequency Never) or Both. ErpRequests and Both only with "
        "procore.mode ErpConnector. Omitted: Schedule in PublicApi mode, Both in ErpConnector mode (shown in "
        "status). Sync now runs the sync whatever this says.",
    )


class StagedSync(SyncSettings):
    """A sync whose new records Procore's approver lets in, in ErpConnector mode (vendors, jobs)."""

    approval: Approval | None = Field(
        default=None,
        description="ErpConnector mode only: Required (the default) stages new ERP records for Procore's approver "
        "(Ready to Import); Automatic writes them directly, as Procore's own connectors do when a company turns "
        "approval off. Records already linked are updated either way.",
    )


class VendorsSync(StagedSync):
    """Refresh the ERP vendor list (company level)."""


class JobsSync(StagedSync):
    """Refresh the ERP job list (company level)."""

    create_projects: bool = Field(
        default=False, description="Create Procore projects for ERP jobs that no project is linked to."
    )


class JobCostsSync(SyncSettings):
    """Sync standard and/or project cost codes and project job costs (project level)."""

    cost_codes: CostCodes = Field(default="StandardAndProject", description="Which cost codes to sync.")


class InvoicePaymentsSync(SyncSettings):
    """Sync payments for synced invoices into "Payments Issued" on commitments."""


class Syncs(ApiModel):
    """The four sync options; each has a frequency, defaulted by the ERP profile."""

    vendors: VendorsSync = Field(default_factory=VendorsSync)
    jobs: JobsSync = Field(default_factory=JobsSync)
    job_costs: JobCostsSync = Field(default_factory=JobCostsSync)
    invoice_payments: InvoicePaymentsSync = Field(default_factory=InvoicePaymentsSync)

    def get(self, sync: SyncName) -> SyncSettings:
        settings: SyncSettings = getattr(self, _FIELD_OF_SYNC[sync])
        return settings


_FIELD_OF_SYNC: Final[dict[SyncName, str]] = {
    sync: field for field, info in Syncs.model_fields.items() for sync in SYNC_NAMES if info.alias == sync
}


class Toleration(ApiModel):
    """A Kubernetes toleration for the worker pods."""

    key: str | None = Field(default=None, max_length=316)
    operator: TolerationOperator | None = None
    value: str | None = Field(default=None, max_length=63)
    effect: TaintEffect | None = None
    toleration_seconds: OptionalInteger = Field(default=None, ge=INT64_MIN, le=INT64_MAX)


class ResourceRequirements(ApiModel):
    """CPU and memory for the worker container."""

    limits: ResourceList | None = None
    requests: ResourceList | None = None


class WorkerSettings(ApiModel):
    """The worker pods and the CronJobs that start them."""

    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        pattern=IMAGE_PATTERN,
        description="Worker image. Omitted: the operator's default (its --worker-image).",
    )
    image_pull_policy: ImagePullPolicy | None = None
    resources: ResourceRequirements | None = None
    node_selector: NodeSelector | None = None
    tolerations: list[Toleration] | None = Field(default=None, max_length=32)
    concurrency_policy: ConcurrencyPolicy = Field(
        default="Forbid", description="What the CronJob does when a run is due while the previous one runs."
    )
    starting_deadline_seconds: Integer = Field(
        default=600,
        ge=0,
        le=INT64_MAX,
        description="A run that could not start within this many seconds of its time is skipped.",
    )
    active_deadline_seconds: OptionalInteger = Field(
        default=None,
        ge=1,
        le=INT64_MAX,
        description="Longest a run may take. Omitted: the sync's interval (a day for Daily).",
    )
    backoff_limit: Integer = Field(default=2, ge=0, le=100, description="Retries of a failed run.")
    successful_jobs_history_limit: Integer = Field(default=3, ge=0, le=100)
    failed_jobs_history_limit: Integer = Field(default=3, ge=0, le=100)


class ErpSyncScheduleSpec(ApiModel):
    """The sync schedule of one ERP integration (one Procore company)."""

    erp: ErpName = Field(description="The ERP profile: which syncs and frequencies the integration offers.")
    procore: ProcoreSettings
    erp_connection: ErpConnection
    time_zone: TimeZoneName = Field(default="UTC", description="IANA time zone in which the sync times are read.")
    suspend: bool = Field(default=False, description="Suspends every sync of the schedule.")
    syncs: Syncs = Field(default_factory=Syncs)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    def effective_run_on(self, sync: SyncName) -> RunOn:
        """What starts the sync's runs: the spec's runOn, or the Procore mode's default."""
        return self.syncs.get(sync).run_on or MODES[self.procore.mode].default_run_on

    def default_frequency(self, sync: SyncName) -> Frequency:
        """The frequency of a sync that names none: Never when it runs on ERP Requests only or its Procore mode
        cannot do it, else the ERP profile's default."""
        if self.effective_run_on(sync) == "ErpRequests" or sync in MODES[self.procore.mode].impossible:
            return "Never"
        return PROFILES[self.erp].offer(sync).default

    def effective_frequency(self, sync: SyncName) -> Frequency:
        """The frequency the sync runs at: the spec's, or the default (`default_frequency`)."""
        return self.syncs.get(sync).frequency or self.default_frequency(sync)

    @model_validator(mode="after")
    def _check_profile(self) -> Self:
        problems = profile_problems(self)
        if problems:
            raise PydanticCustomError(
                "erp_profile",
                "{summary}",
                {
                    "summary": "; ".join(f"{'.'.join(loc)}: {message}" for loc, message in problems),
                    "problems": problems,
                },
            )
        return self


def profile_problems(spec: ErpSyncScheduleSpec) -> list[tuple[tuple[str, ...], str]]:
    """The rules that depend on the ERP profile, as (location under spec, message) pairs."""
    problems: list[tuple[tuple[str, ...], str]] = []
    mode = spec.procore.mode
    for sync in SYNC_NAMES:
        settings = spec.syncs.get(sync)
        frequency = settings.frequency
        if frequency is not None:
            reason = refusal(spec.erp, sync, frequency)
            if reason:
                problems.append((("syncs", sync, "frequency"), reason))
        if frequency not in (None, "Never") and sync in MODES[mode].impossible:
            problems.append((("syncs", sync, "frequency"), f"{frequency}{mode_refusal_reason(mode, sync)}"))
        if frequency not in (None, "Never") and settings.run_on == "ErpRequests":
            problems.append((("syncs", sync, "frequency"), f"{frequency}{REQUESTS_ONLY_FREQUENCY_REASON}"))
        if settings.run_on is not None and settings.run_on not in MODES[mode].run_on:
            problems.append((("syncs", sync, "runOn"), f"{settings.run_on}{run_on_refusal_reason(mode)}"))
        effective = spec.effective_frequency(sync)
        if settings.at is not None and effective != "Daily":
            problems.append(
                (
                    ("syncs", sync, "at"),
                    f"{settings.at} is only allowed when the frequency is Daily; the frequency is {effective}",
                )
            )
    for sync in APPROVED_SYNCS:
        settings = spec.syncs.get(sync)
        if isinstance(settings, StagedSync) and settings.approval is not None and MODES[mode].no_approval_because:
            problems.append((("syncs", sync, "approval"), f"{settings.approval}{approval_refusal_reason(mode)}"))
    if spec.syncs.jobs.create_projects and mode == "ErpConnector":
        problems.append((("syncs", "jobs", "createProjects"), f"true{STAGED_JOBS_REASON}"))
    return problems


# --- Status: written by the operator ----------------------------------------------------------


class StatusModel(BaseModel):
    """Base of status models: written by the operator, read back leniently."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        extra="allow",
    )

    def as_json(self) -> dict[str, Any]:
        """As the API server stores it: the one serialisation of status (camelCase names, RFC 3339 times, no
        nulls)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Condition(StatusModel):
    """A metav1.Condition."""

    type: str = Field(max_length=316)
    status: str = Field(description='"True", "False" or "Unknown".', max_length=8)
    reason: str = Field(max_length=1024)
    message: str = Field(default="", max_length=32768)
    observed_generation: int | None = None
    last_transition_time: datetime


# The counts of erpsync.api.run_counts, the one definition the worker's summary keeps too; the operator
# copies them into lastRun. (The docstring is the CRD's description.)
class RunCounts(StatusModel, RunCountFields):
    """The worker's summary counts of one run."""


class LastRun(StatusModel):
    """The last run of a sync, scheduled or on demand."""

    job_name: str = Field(max_length=253)
    trigger: str = Field(description="Scheduled or OnDemand.", max_length=16)
    start_time: datetime | None = None
    completion_time: datetime | None = None
    result: str = Field(description="Running, Succeeded, PartiallyFailed or Failed.", max_length=32)
    message: str | None = Field(default=None, max_length=4096)
    counts: RunCounts | None = None


# The most runs a sync's history keeps (the operator's --run-history, default DEFAULT_RUN_HISTORY): with
# each message cut to HISTORY_MESSAGE_LIMIT characters, four full histories stay within some 100 KB.
RUN_HISTORY_MAX: Final = 20
DEFAULT_RUN_HISTORY: Final = 5
HISTORY_MESSAGE_LIMIT: Final = 256


class PastRun(LastRun):
    """A run in a sync's history: as lastRun, with its duration and a shorter message."""

    message: str | None = Field(default=None, max_length=HISTORY_MESSAGE_LIMIT)
    duration_seconds: int | None = Field(
        default=None, ge=0, description="From its start to its completion; none while it runs."
    )


class RunTotals(StatusModel):
    """How many runs of the sync finished, by result, since the schedule was created: each Job counted once,
    when the operator first sees it finished (Jobs deleted since are still counted)."""

    succeeded: int = Field(default=0, ge=0)
    partially_failed: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)


class SyncStatus(StatusModel):
    """What the operator made of one sync option."""

    frequency: Frequency
    run_on: RunOn | None = Field(
        default=None,
        description="What starts its runs (effective): Schedule, ErpRequests (no CronJob) or Both.",
    )
    schedule: str | None = Field(default=None, description="Cron schedule; none for Never.", max_length=64)
    time_zone: str | None = Field(default=None, max_length=64)
    cron_job: str | None = Field(default=None, max_length=253)
    suspended: bool = Field(
        default=False,
        description="In effect: the CronJob's own suspend flag (what the spec and annotation ask for, without one).",
    )
    suspended_by: list[SuspendedBy] | None = Field(
        default=None,
        max_length=3,
        description="Who asks for the suspension: Schedule (spec.suspend), Sync (spec.syncs.<sync>.suspend), "
        "Annotation (erpsync.io/suspend, kubectl erpsync suspend).",
    )
    next_run_time: datetime | None = None
    last_schedule_time: datetime | None = None
    last_successful_time: datetime | None = None
    last_run: LastRun | None = None
    history: list[PastRun] | None = Field(
        default=None, max_length=RUN_HISTORY_MAX, description="The last runs, newest first."
    )
    runs: RunTotals | None = None


class SyncStatuses(StatusModel):
    vendors: SyncStatus | None = None
    jobs: SyncStatus | None = None
    job_costs: SyncStatus | None = None
    invoice_payments: SyncStatus | None = None

    def get(self, sync: SyncName) -> SyncStatus | None:
        status: SyncStatus | None = getattr(self, _FIELD_OF_SYNC[sync])
        return status


class ErpSyncScheduleStatus(StatusModel):
    """Status of an ErpSyncSchedule, rebuilt by the operator from the world on every pass."""

    observed_generation: int = Field(default=-1, description="The generation last handled.")
    conditions: list[Condition] = Field(default_factory=list, max_length=8)
    syncs: SyncStatuses | None = None
    last_sync_time: datetime | None = Field(default=None, description="The latest successful run of any sync.")
    next_sync_time: datetime | None = Field(
        default=None, description="The earliest next run of the syncs that are scheduled and not suspended."
    )
    suspended: str | None = Field(
        default=None,
        max_length=64,
        description='Which scheduled syncs are suspended: "false" (none), "true" (all), or their names, '
        'comma-separated ("vendors,jobs").',
    )
    last_handled_sync_now: str | None = Field(
        default=None, description="The last erpsync.io/sync-now token handled.", max_length=253
    )
    unmanaged_cron_jobs: list[str] | None = Field(
        default=None,
        max_length=16,
        description="CronJobs with this schedule's labels that another controller owns (left alone).",
    )

    def condition(self, type_: str) -> Condition | None:
        """The condition of this type (Ready, Healthy...: api/conditions.py), or None when absent."""
        return next((item for item in self.conditions if item.type == type_), None)


# A list item read_status leaves out, until the lists that held one are compacted.
_LEFT_OUT: Final = object()


def read_status(raw: object) -> ErpSyncScheduleStatus:
    """A stored status read with the model, leniently: what does not fit is left out, value by value.

    The CRD's schema makes status fit the model, but a status can be written around it (another client
    before the schema was applied, a schema-less restore, an older operator): a `syncs` list or a string
    condition must crash neither a pass nor `kubectl erpsync`. A value of the wrong type is left out; so
    is an object that lacks a required field (a condition without a type, a lastRun without a jobName).
    Keys the model does not know (kopf's records) are kept.
    """
    data = raw if isinstance(raw, dict) else {}
    while True:
        try:
            return ErpSyncScheduleStatus.model_validate(data)
        except ValidationError as error:
            data = copy.deepcopy(data) if data is raw else data
            paths = [problem["loc"][: -1 if problem["type"] == "missing" else None] for problem in error.errors()]
            if not [path for path in paths if _leave_out(data, path)]:
                return ErpSyncScheduleStatus()  # nothing left to leave out: not expected, never a crash
            data = _compacted(data)


def _leave_out(data: dict[str, Any], path: tuple[int | str, ...]) -> bool:
    """Leaves out the value at `path`; False when there is none (left out already, with what held it)."""
    parent: Any = None
    key: Any = None
    node: Any = data
    for step in path:
        if not _holds(node, step):
            return False
        parent, key, node = node, step, node[step]
    if parent is None or node is _LEFT_OUT:
        return False
    if isinstance(parent, list):
        parent[key] = _LEFT_OUT
    else:
        del parent[key]
    return True


def _holds(node: Any, step: int | str) -> bool:
    if isinstance(node, list):
        return isinstance(step, int) and 0 <= step < len(node)
    return isinstance(node, dict) and step in node


def _compacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _compacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_compacted(item) for item in value if item is not _LEFT_OUT]
    return value


# Label keys are an optional DNS-subdomain prefix and "/" and a name; values are short names.
_QUALIFIED_NAME: Final = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_KEY_PATTERN: Final = rf"^({DNS_SUBDOMAIN_PATTERN[1:-1]}/)?{_QUALIFIED_NAME}$"
LABEL_VALUE_PATTERN: Final = rf"^({_QUALIFIED_NAME})?$"
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=317, pattern=LABEL_KEY_PATTERN)]
LabelValue = Annotated[str, StringConstraints(max_length=63, pattern=LABEL_VALUE_PATTERN)]


class ObjectMeta(NullPruningModel):
    """metadata, checked as the API server checks it (unknown fields refused); the operator reads name,
    namespace, uid and generation."""

    model_config = STRICT_API_CONFIG

    name: DnsSubdomain
    generate_name: str | None = None
    namespace: Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)] = "default"
    self_link: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: ObjectMetaInteger | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: ObjectMetaInteger | None = None
    labels: dict[LabelKey, LabelValue] | None = None
    annotations: dict[LabelKey, str] | None = None
    owner_references: list[dict[str, Any]] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[dict[str, Any]] | None = None


class ErpSyncSchedule(BaseModel):
    """An ErpSyncSchedule object: apiVersion, kind, metadata, spec and (read only) status."""

    model_config = STRICT_API_CONFIG

    api_version: str = f"{API_GROUP}/{API_VERSION}"
    kind: Literal["ErpSyncSchedule"] = KIND
    metadata: ObjectMeta
    spec: ErpSyncScheduleSpec
    # Written by the operator, never refused: read leniently (read_status).
    status: Annotated[
        ErpSyncScheduleStatus | None, BeforeValidator(lambda raw: None if raw is None else read_status(raw))
    ] = None
