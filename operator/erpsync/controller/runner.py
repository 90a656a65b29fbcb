"""Starting the operator: kopf's event loop with the operator's registry and settings."""

import logging
from collections.abc import Collection

import kopf

from erpsync.controller import metrics
from erpsync.controller.config import OperatorConfig
from erpsync.controller.handlers import build_registry
from erpsync.controller.kopf_storage import NoMemories
from erpsync.controller.leader import LeaderElection
from erpsync.controller.queue import DEFAULT_WORKERS
from erpsync.controller.rate_limit import DEFAULT_BURST, DEFAULT_QPS
from erpsync.controller.state import OperatorState
from erpsync.planning.cronjobs import WorkerDefaults


def run_operator(
    *,
    namespaces: Collection[str],
    worker_defaults: WorkerDefaults,
    liveness: str | None,
    metrics_port: int,
    json_logs: bool,
    resync_seconds: float,
    run_history: int,
    standalone: bool,
    peering_name: str | None,
    verbose: bool,
    leader_election: LeaderElection | None = None,
    qps: float = DEFAULT_QPS,
    burst: int = DEFAULT_BURST,
    workers: int = DEFAULT_WORKERS,
) -> None:
    kopf.configure(verbose=verbose, log_format=kopf.LogFormat.JSON if json_logs else kopf.LogFormat.FULL)
    if not verbose:
        # kopf logs every handler call on every watch event at INFO; ours say what changed.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    state = OperatorState(
        OperatorConfig(
            worker_defaults=worker_defaults,
            resync_seconds=resync_seconds,
            metrics_port=metrics_port,
            run_history=run_history,
            leader_election=leader_election,
            qps=qps,
            burst=burst,
            workers=workers,
            peering=not standalone and bool(peering_name),
            namespaces=tuple(namespaces),
        )
    )
    if state.config.peering:  # kopf watches the schedules then: erpsync_watch_restarts_total counts its requests
        metrics.install_watch_counter()
    kopf.run(
        registry=build_registry(state),
        standalone=standalone,
        peering_name=None if standalone else peering_name,
        liveness_endpoint=liveness,
        clusterwide=not namespaces,
        namespaces=list(namespaces),
        memories=NoMemories(),  # the World is the operator's memory of objects
    )
