"""The closed vocabularies of the API: the values an enum field may take.

Kept apart from the models so that profiles, validation, the planner and the CRD generator
all share one spelling of each value.
"""

from typing import Final, Literal, get_args

API_GROUP: Final = "erpsync.io"
API_VERSION: Final = "v1alpha1"
KIND: Final = "ErpSyncSchedule"
PLURAL: Final = "erpsyncschedules"
SINGULAR: Final = "erpsyncschedule"
SHORT_NAME: Final = "erpsync"
CATEGORY: Final = "erpsync"

Frequency = Literal["Hourly", "Every2Hours", "Every4Hours", "Daily", "Never"]
FREQUENCIES: Final[tuple[Frequency, ...]] = get_args(Frequency)

SyncName = Literal["vendors", "jobs", "jobCosts", "invoicePayments"]
SYNC_NAMES: Final[tuple[SyncName, ...]] = get_args(SyncName)

ErpName = Literal["Generic", "QuickBooksDesktop", "Xero", "NetSuite", "ViewpointSpectrum", "CMiC", "SageIntacct"]
ERP_NAMES: Final[tuple[ErpName, ...]] = get_args(ErpName)

ProcoreEnvironment = Literal["Production", "Sandbox", "MonthlySandbox"]
# How the workers talk to Procore: its public endpoints only, or Procore's ERP integration protocol (staged
# records, ERP-only sync endpoints, ERP Requests), which needs an ERP connection (partner access).
ProcoreMode = Literal["PublicApi", "ErpConnector"]
PROCORE_MODES: Final[tuple[ProcoreMode, ...]] = get_args(ProcoreMode)
# What starts a sync's runs: its schedule (CronJob), Procore's ERP Requests (webhook deliveries), or both.
RunOn = Literal["Schedule", "ErpRequests", "Both"]
RUN_ON_VALUES: Final[tuple[RunOn, ...]] = get_args(RunOn)
# Who lets a new ERP vendor or job into Procore in ErpConnector mode: Procore's approver (staged records) or
# nobody (written directly, as Procore's own connectors do for a company that turns approval off).
Approval = Literal["Required", "Automatic"]
APPROVALS: Final[tuple[Approval, ...]] = get_args(Approval)
CostCodes = Literal["Standard", "Project", "StandardAndProject"]
ConcurrencyPolicy = Literal["Allow", "Forbid", "Replace"]
ImagePullPolicy = Literal["Always", "IfNotPresent", "Never"]
TolerationOperator = Literal["Exists", "Equal"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

# What the worker's summary says of a run; the operator believes nothing else from a termination message.
WorkerResult = Literal["Succeeded", "PartiallyFailed", "Failed"]
WORKER_RESULTS: Final[tuple[WorkerResult, ...]] = get_args(WorkerResult)

# Who suspends a sync, as status.syncs.<sync>.suspendedBy says: spec.suspend (Schedule), spec.syncs.<sync>.suspend
# (Sync), or the erpsync.io/suspend annotation of `kubectl erpsync suspend` (Annotation).
SuspendedBy = Literal["Schedule", "Sync", "Annotation"]

# An operational pause, kept out of the spec: the spec is what Git declares, and a GitOps tool applying it
# neither reverts nor reports an annotation it never set (docs/gitops.md, "Who owns suspend"). Its value is
# "all", or sync names separated by commas; the operator suspends a sync when the spec or this annotation does.
SUSPEND_ANNOTATION: Final = "erpsync.io/suspend"
SUSPEND_ALL: Final = "all"


def read_suspend_annotation(value: str | None) -> tuple[frozenset[SyncName], tuple[str, ...]]:
    """The syncs an erpsync.io/suspend value suspends, and the words in it that are neither "all" nor a sync
    (ignored: a typo must not be read as a wider pause than was written, nor crash a pass)."""
    words = [word.strip() for word in (value or "").split(",") if word.strip()]
    syncs = frozenset(SYNC_NAMES if SUSPEND_ALL in words else (word for word in words if word in SYNC_NAMES))
    unknown = tuple(word for word in words if word != SUSPEND_ALL and word not in SYNC_NAMES)
    return syncs, unknown


def suspend_annotation_value(syncs: frozenset[SyncName]) -> str | None:
    """The erpsync.io/suspend value for `syncs` ("all" for every sync); None, to remove it, for none."""
    if not syncs:
        return None
    if syncs == frozenset(SYNC_NAMES):
        return SUSPEND_ALL
    return ",".join(sync for sync in SYNC_NAMES if sync in syncs)


# The worker's command-line name for each sync (`erp-sync-worker run <name>`), also used in
# child object names, where camelCase is not allowed.
WORKER_SYNC_ARGUMENT: Final[dict[SyncName, str]] = {
    "vendors": "vendors",
    "jobs": "jobs",
    "jobCosts": "job-costs",
    "invoicePayments": "invoice-payments",
}

# Where each Procore environment lives (Procore's API documentation; the table in docs/spec.md).
PROCORE_HOSTS: Final[dict[ProcoreEnvironment, tuple[str, str]]] = {
    # environment: (API base URL, login base URL)
    "Production": ("https://api.procore.com", "https://login.procore.com"),
    "Sandbox": ("https://sandbox.procore.com", "https://login-sandbox.procore.com"),
    "MonthlySandbox": ("https://api-monthly.procore.com", "https://login-sandbox-monthly.procore.com"),
}
