"""The operator's configuration: what `erp-sync operator`'s options set, fixed for the life of the process."""

from dataclasses import dataclass

from erpsync.api.models import DEFAULT_RUN_HISTORY
from erpsync.controller.leader import LeaderElection
from erpsync.controller.queue import DEFAULT_WORKERS
from erpsync.controller.rate_limit import DEFAULT_BURST, DEFAULT_QPS
from erpsync.planning.cronjobs import BUILT_IN_WORKER_DEFAULTS, WorkerDefaults


@dataclass
class OperatorConfig:
    worker_defaults: WorkerDefaults = BUILT_IN_WORKER_DEFAULTS
    resync_seconds: float = 300.0
    workers: int = DEFAULT_WORKERS
    metrics_port: int = 0  # 0: no metrics server
    leader_election: LeaderElection | None = None  # None: this process reconciles from the start
    qps: float = DEFAULT_QPS  # the client-side limit of requests (rate_limit.py); 0: none
    burst: int = DEFAULT_BURST
    run_history: int = DEFAULT_RUN_HISTORY  # runs kept in each sync's status.syncs.<sync>.history
    peering: bool = False  # kopf's peering: kopf watches the schedules (its peering pauses its watchers)
    namespaces: tuple[str, ...] = ()  # the namespaces watched; none: every namespace
