"""`erp-sync-worker check`: prove a schedule can work before it goes live.

Every check runs and reports, whatever failed before it: the token; the company, reached with
this service account; the mode's endpoints (in ERP-connector mode, that the company has an ERP
connection); the ERP database; and every canonical view the checked syncs read, with its columns.
A failure names what to fix. Calls are bounded: short timeouts, two tries, no long waits.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from erpsync_worker.config import WorkerConfig
from erpsync_worker.erp.connector import VIEW_COLUMNS, ErpError, SqlConnector
from erpsync_worker.procore.client import ProcoreClient, ProcoreError

SYNC_VIEWS: Final[dict[str, tuple[str, ...]]] = {
    "vendors": ("erpsync_vendors",),
    "jobs": ("erpsync_jobs",),
    "job-costs": ("erpsync_cost_codes", "erpsync_job_costs"),
    "invoice-payments": ("erpsync_invoice_payments",),
}
# Job-to-date costs go through erp_job_costs/sync, which answers only with an ERP connection.
MODE_SYNCS: Final = {"PublicApi": ("vendors", "jobs", "invoice-payments"), "ErpConnector": tuple(SYNC_VIEWS)}
TIMEOUT: Final = 10.0  # seconds, per Procore call and per database connection
ATTEMPTS: Final = 2
PATIENCE: Final = 10.0  # the longest wait (rate limit, backoff) the check accepts
CREDENTIALS: Final = "the credentials Secret (spec.procore.credentialsSecretRef, keys client_id and client_secret)"
DIRECTORY: Final = "give the app's service account Company Directory access (Admin, to write vendors)"
PROJECTS: Final = "add the projects to sync to the service account's permitted projects"
ERP_CONNECTION: Final = (
    "the company has no ERP connection: ERP Integrations is enabled by Procore, then the integrator "
    "creates the connection (docs/erp-connector.md); or use spec.procore.mode: PublicApi"
)


@dataclass(frozen=True)
class Probe:
    """One read a sync depends on; `fix` says what to change when Procore refuses it."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    fix: str = PROJECTS


def _probes(company: int) -> dict[str, tuple[Probe, ...]]:
    scoped = {"company_id": company}
    projects = Probe("/rest/v1.0/projects", {**scoped, "filters[by_status]": "All"})
    return {
        "vendors": (
            Probe("/rest/v1.0/vendors", scoped, DIRECTORY),
            Probe(f"/rest/v1.0/companies/{company}/vendors/inactive", fix=DIRECTORY),
        ),
        "jobs": (projects,),
        "job-costs": (projects, Probe("/rest/v1.0/standard_cost_code_lists", scoped, "give it Company Admin")),
        "invoice-payments": (projects,),
    }


def chosen_syncs(option: str | None, mode: str) -> list[str]:
    """`--sync a,b` (checked against the syncs), or every sync the mode can run."""
    if not option:
        return list(MODE_SYNCS[mode])
    names = [name.strip() for name in option.split(",") if name.strip()]
    unknown = [name for name in names if name not in SYNC_VIEWS]
    if unknown or not names:
        problem = f"unknown sync {', '.join(unknown)}" if unknown else "no sync named"
        raise ValueError(f"--sync {option!r}: {problem}; allowed: {', '.join(SYNC_VIEWS)}")
    return list(dict.fromkeys(names))


@dataclass
class Check:
    config: WorkerConfig
    syncs: list[str]
    client: ProcoreClient
    say: Callable[[str, str | None, str], None]  # (what, failure or None, detail when ok)
    failures: int = 0

    def report(self, what: str, failure: str | None, detail: str = "") -> None:
        self.failures += failure is not None
        self.say(what, failure, detail)

    @property
    def mode(self) -> str:
        return self.config.procore_mode

    def run(self, open_erp: Callable[[], SqlConnector]) -> int:
        self._procore()
        self._erp(open_erp)
        return self.failures

    # --- Procore -------------------------------------------------------------------------------

    def _procore(self) -> None:
        company = self.config.company_id
        try:
            self.client.token()
        except ProcoreError as error:
            self.report("procore token", f"{error}: check {CREDENTIALS} (the other Procore checks need a token)")
            return
        self.report("procore token", None, f"from {self.config.login_url}")
        refused = self._refusal(Probe("/rest/v1.0/projects", {"company_id": company}))
        if refused is not None:
            self.report(
                f"procore company {company}",
                f"{refused}: install the app in company {company} (Company Admin > App Management) so its "
                "service account reaches it, and check spec.procore.companyId (the other Procore checks need it)",
            )
            return
        self.report(f"procore company {company}", None, "reachable")
        if self.mode == "ErpConnector":
            self._erp_connection(company)
        probes = _probes(company)
        for sync in self.syncs:
            if sync not in MODE_SYNCS[self.mode]:
                self.report(
                    f"procore {sync}",
                    f"not possible in {self.mode} mode: erp_job_costs/sync answers only for a company with an "
                    "ERP connection; use spec.procore.mode: ErpConnector or set this sync's frequency to Never",
                )
                continue
            problems = [f"{refused}: {probe.fix}" for probe in probes[sync] if (refused := self._refusal(probe))]
            self.report(
                f"procore {sync}", "; ".join(problems) or None, ", ".join(f"GET {p.path}" for p in probes[sync])
            )

    def _erp_connection(self, company: int) -> None:
        refused = self._refusal(Probe(f"/rest/v1.0/companies/{company}/erp_requests"))
        if refused is not None:
            self.report("procore ERP connection", f"{refused}: {ERP_CONNECTION}")
            return
        try:
            lists = self.client.request(
                "GET", "/rest/v1.0/standard_cost_code_lists", params={"company_id": company}, repeatable=True
            ).json()
        except ProcoreError as error:
            self.report("procore ERP connection", f"{error}: give the app's service account Company Admin")
            return
        items = lists if isinstance(lists, list) else []
        erp_list = next((item for item in items if isinstance(item, dict) and item.get("is_erp_list")), None)
        if erp_list is None:
            self.report("procore ERP connection", f"no ERP standard cost code list: {ERP_CONNECTION}")
            return
        self.report(
            "procore ERP connection", None, f"ERP requests answer; ERP standard cost code list {erp_list['id']}"
        )

    def _refusal(self, probe: Probe) -> str | None:
        try:
            self.client.request("GET", probe.path, params={**probe.params, "per_page": 1}, repeatable=True)
        except ProcoreError as error:
            return str(error)
        return None

    # --- ERP -----------------------------------------------------------------------------------

    def _erp(self, open_erp: Callable[[], SqlConnector]) -> None:
        try:
            connector = open_erp()
            connector.check()
        except ErpError as error:
            self.report(
                "erp database",
                f"{error}: check the ERP database Secret (spec.erpConnection.secretRef, key url) "
                "(the views are checked once it opens)",
            )
            return
        self.report("erp database", None, "reachable")
        try:
            for view in _views(self.syncs):
                self._view(connector, view)
        finally:
            connector.close()

    def _view(self, connector: SqlConnector, view: str) -> None:
        expected = ", ".join(VIEW_COLUMNS[view])
        where = (
            f"the query for {view} in ERP_QUERIES_FILE (spec.erpConnection.queriesConfigMapRef)"
            if connector.replaced_by_query(view)
            else f"view {view}"
        )
        try:
            missing = connector.missing_columns(view)
        except ErpError as error:
            self.report(
                f"erp {view}",
                f"{where} cannot be read ({error}): create it with columns {expected} (docs/erp-connector.md)",
            )
            return
        if missing:
            self.report(f"erp {view}", f"{where} lacks columns {', '.join(missing)}; expected: {expected}")
        else:
            self.report(f"erp {view}", None, "all columns")


def _views(syncs: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(view for sync in syncs for view in SYNC_VIEWS[sync]))
