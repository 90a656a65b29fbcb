"""ERP profiles: which syncs each ERP integration offers, at which frequencies, and the defaults.

This table is the one place that knows it (each profile's `source` names the Procore page it follows);
the models, the CRD's CEL rules, `erp-sync validate` and the docs are all derived from it. Adding an ERP
is one entry here plus its name in `vocabulary.ErpName`.
"""

from dataclasses import dataclass
from typing import Final

from erpsync.api.vocabulary import ERP_NAMES, FREQUENCIES, ErpName, Frequency, SyncName

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
