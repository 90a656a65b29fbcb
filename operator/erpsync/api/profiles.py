"""ERP profiles: which syncs each ERP integration offers, at which frequencies, and the defaults.

This table is the one place that knows it (each profile's `source` names the Procore page it follows);
the models, the CRD's CEL rules, `erp-sync validate` and the docs are all derived from it. Adding an ERP
is one entry here plus its name in `vocabulary.ErpName`. The Procore modes (`MODES`) restrict the profiles
further: which syncs a mode cannot do and whether ERP Requests exist, with the wording of each refusal.
"""

from dataclasses import dataclass, field
from typing import Final

from erpsync.api.vocabulary import (
    ERP_NAMES,
    FREQUENCIES,
    PROCORE_MODES,
    RUN_ON_VALUES,
    ErpName,
    Frequency,
    ProcoreMode,
    RunOn,
    SyncName,
)

_ANY: Final[tuple[Frequency, ...]] = FREQUENCIES


@dataclass(frozen=True)
class SyncOffer:
    """What one ERP offers for one sync: the accepted frequencies and the default."""

    frequencies: tuple[Frequency, ...]
    default: Frequency

    def __post_init__(self) -> None:
        # `Never` is always accepted: a sync can always be switched off.
        if "Never" not in self.frequencies:
            object.__setattr__(self, "frequencies", (*self.frequencies, "Never"))
        if self.default not in self.frequencies:
            raise ValueError(f"default {self.default} is not among {self.frequencies}")


def _offer(*frequencies: Frequency, default: Frequency) -> SyncOffer:
    return SyncOffer(frequencies=frequencies, default=default)


# On demand only: no schedule, but "sync now" still runs it. An option that does not exist for
# the ERP accepts the same single value; `ErpProfile.unavailable` changes only the refusal's words.
_ON_DEMAND_ONLY: Final = _offer("Never", default="Never")


@dataclass(frozen=True)
class ErpProfile:
    name: ErpName
    syncs: dict[SyncName, SyncOffer]
    source: str
    # Syncs that do not exist at all for this ERP (refused as "not available", not "not offered").
    unavailable: frozenset[SyncName] = frozenset()

    def offer(self, sync: SyncName) -> SyncOffer:
        return self.syncs[sync]


PROFILES: Final[dict[ErpName, ErpProfile]] = {
    profile.name: profile
    for profile in (
        ErpProfile(
            name="Generic",
            syncs={
                "vendors": _offer(*_ANY, default="Hourly"),
                "jobs": _offer(*_ANY, default="Hourly"),
                "jobCosts": _offer(*_ANY, default="Every2Hours"),
                "invoicePayments": _offer(*_ANY, default="Daily"),
            },
            source="Procore's generic 'Configure the Sync Schedule for your ERP Integration' page: payments "
            "selectable; other syncs hourly (company level) and every 2 hours (project level).",
        ),
        ErpProfile(
            name="QuickBooksDesktop",
            syncs={
                "vendors": _offer("Hourly", default="Hourly"),
                "jobs": _offer("Hourly", default="Hourly"),
                "jobCosts": _offer("Every2Hours", default="Every2Hours"),
                "invoicePayments": _offer("Hourly", "Every2Hours", "Every4Hours", "Daily", default="Daily"),
            },
            source="QuickBooks Desktop 'Configure Advanced Settings': company data staged hourly, job costs "
            "every 2 hours, payments frequency selectable (US edition only).",
        ),
        ErpProfile(
            name="Xero",
            syncs={
                "vendors": _offer("Hourly", default="Hourly"),
                "jobs": _offer("Hourly", default="Hourly"),
                "jobCosts": _offer("Every2Hours", default="Every2Hours"),
                "invoicePayments": _offer("Hourly", "Every2Hours", "Every4Hours", "Daily", default="Daily"),
            },
            source="Xero 'Configure the Sync Schedule for ERP' (same as QuickBooks Desktop); another Xero page "
            "says job costs daily, which conflicts.",
        ),
        ErpProfile(
            name="NetSuite",
            syncs={
                "vendors": _ON_DEMAND_ONLY,
                "jobs": _ON_DEMAND_ONLY,
                "jobCosts": _offer("Daily", default="Daily"),
                "invoicePayments": _ON_DEMAND_ONLY,
            },
            source="'Things to Know about NetSuite': jobs, vendors and payments on demand; job costs once daily.",
        ),
        ErpProfile(
            name="ViewpointSpectrum",
            syncs={
                "vendors": _offer("Hourly", "Every4Hours", "Daily", default="Daily"),
                "jobs": _offer("Hourly", "Every4Hours", "Daily", default="Daily"),
                "jobCosts": _offer("Hourly", "Every4Hours", "Daily", default="Daily"),
                "invoicePayments": _ON_DEMAND_ONLY,
            },
            unavailable=frozenset({"invoicePayments"}),
            source="Legacy 'Configure the Sync Schedule for Procore and Viewpoint Spectrum': Hourly / Every 4 "
            "hours / Daily (default) / Never; payments not available.",
        ),
        ErpProfile(
            name="CMiC",
            syncs={
                "vendors": _ON_DEMAND_ONLY,
                "jobs": _ON_DEMAND_ONLY,
                "jobCosts": _offer("Every2Hours", default="Every2Hours"),
                "invoicePayments": _ON_DEMAND_ONLY,
            },
            unavailable=frozenset({"invoicePayments"}),
            source="'Things to Know about CMiC': not automatically synced except job costs; manual Refresh "
            "buttons; payments not available.",
        ),
        ErpProfile(
            name="SageIntacct",
            syncs={
                "vendors": _ON_DEMAND_ONLY,
                "jobs": _ON_DEMAND_ONLY,
                "jobCosts": _ON_DEMAND_ONLY,
                "invoicePayments": _ON_DEMAND_ONLY,
            },
            source="'Things to Know about Sage Intacct': imports are requested by admins (on demand).",
        ),
    )
}

assert tuple(PROFILES) == ERP_NAMES, "every ERP name needs exactly one profile, in the same order"


def refusal(erp: ErpName, sync: SyncName, frequency: str) -> str | None:
    """Why `frequency` is refused for `sync` under `erp`, or None when it is accepted.

    The models refuse with it; the CRD's CEL messageExpression is the refused value followed by
    `refusal_reason`, so the API server and `erp-sync validate` say the same.
    """
    if frequency in PROFILES[erp].offer(sync).frequencies:
        return None
    return f"{frequency}{refusal_reason(erp, sync)}"


def refusal_reason(erp: ErpName, sync: SyncName) -> str:
    """What a refusal says after the refused frequency: why, and what is allowed (the one wording)."""
    profile = PROFILES[erp]
    if sync in profile.unavailable:
        return f" is not available: {erp} has no {sync} sync; allowed: Never"
    return f" is not offered by {erp}; allowed: {', '.join(profile.offer(sync).frequencies)}"


# --- Procore modes (spec.procore.mode) -----------------------------------------------------------------


@dataclass(frozen=True)
class ModeRules:
    """What one Procore mode allows: the syncs it cannot do and whether ERP Requests exist (each with why),
    and the runOn of a sync that does not say."""

    default_run_on: RunOn
    # Why ERP Requests never arrive in this mode (runOn ErpRequests and Both refused); None: they do.
    no_requests_because: str | None = None
    # Syncs this mode cannot do, with why: refused unless their frequency is Never, which is their default.
    impossible: dict[SyncName, str] = field(default_factory=dict)
    # Why new vendors and jobs are never staged for approval in this mode (approval refused); None: they are.
    no_approval_because: str | None = None

    @property
    def run_on(self) -> tuple[RunOn, ...]:
        return ("Schedule",) if self.no_requests_because else RUN_ON_VALUES


# Public-API mode is the default: it needs only the plain service account every company can create, so
# the schedules written before the modes existed keep their vendors, jobs and payments as they ran.
DEFAULT_PROCORE_MODE: Final[ProcoreMode] = "PublicApi"
ERP_CONNECTION_NEEDED: Final = "which Procore opens only to an ERP connection (partner access)"
MODES: Final[dict[ProcoreMode, ModeRules]] = {
    "PublicApi": ModeRules(
        default_run_on="Schedule",
        no_requests_because="ERP Requests come only from Procore's ERP Integrations tool, through an ERP "
        "connection (partner access)",
        impossible={
            "jobCosts": "job costs are written with cost_code_line_item_types/sync and erp_job_costs/sync, "
            + ERP_CONNECTION_NEEDED
        },
        no_approval_because="new vendors and jobs are written directly; staging them for approval (Ready to "
        "Import) uses staged_records, " + ERP_CONNECTION_NEEDED,
    ),
    "ErpConnector": ModeRules(default_run_on="Both"),
}

assert tuple(MODES) == PROCORE_MODES, "every Procore mode needs exactly one entry, in the same order"
# A runOn default of ErpRequests would turn a sync's default frequency to Never, which the CEL rules do not model.
assert all(rules.default_run_on != "ErpRequests" for rules in MODES.values())


def mode_refusal_reason(mode: ProcoreMode, sync: SyncName) -> str:
    """What the refusal of a frequency other than Never says after the value, for a sync `mode` cannot do."""
    return (
        f" is not possible in {mode} mode: {MODES[mode].impossible[sync]}; allowed: Never, or procore.mode ErpConnector"
    )


def run_on_refusal_reason(mode: ProcoreMode) -> str:
    """What the refusal of runOn ErpRequests or Both says after the value, in a mode without ERP Requests."""
    return (
        f" is not possible in {mode} mode: {MODES[mode].no_requests_because}; "
        f"allowed: {', '.join(MODES[mode].run_on)}, or procore.mode ErpConnector"
    )


def approval_refusal_reason(mode: ProcoreMode) -> str:
    """What the refusal of syncs.vendors.approval or syncs.jobs.approval says after the value, in a mode
    without staged records."""
    return (
        f" is not possible in {mode} mode: {MODES[mode].no_approval_because}; "
        "allowed: omitted, or procore.mode ErpConnector"
    )


# The syncs whose new records Procore's approver lets in (staged records) in ErpConnector mode.
APPROVED_SYNCS: Final[tuple[SyncName, ...]] = ("vendors", "jobs")


# A frequency beside runOn ErpRequests would be ignored: refused, so that a spec means what it says.
REQUESTS_ONLY_FREQUENCY_REASON: Final = (
    " is not used with runOn ErpRequests, which starts no scheduled runs; allowed: Never, or runOn Schedule or Both"
)
# New ERP jobs are staged for approval in ErpConnector mode; creating projects directly would skip the approver.
STAGED_JOBS_REASON: Final = (
    " is not allowed in ErpConnector mode: new ERP jobs are staged for approval in Procore (Ready to Import), "
    "never created directly; allowed: false"
)
