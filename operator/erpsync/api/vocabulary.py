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
CostCodes = Literal["Standard", "Project", "StandardAndProject"]
ConcurrencyPolicy = Literal["Allow", "Forbid", "Replace"]
ImagePullPolicy = Literal["Always", "IfNotPresent", "Never"]
TolerationOperator = Literal["Exists", "Equal"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

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
