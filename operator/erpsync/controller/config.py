"""The operator's configuration: what `erp-sync operator`'s options set, fixed for the life of the process."""

from dataclasses import dataclass

from erpsync.planning.cronjobs import BUILT_IN_WORKER_DEFAULTS, WorkerDefaults


@dataclass
class OperatorConfig:
    worker_defaults: WorkerDefaults = BUILT_IN_WORKER_DEFAULTS
    resync_seconds: float = 300.0
    workers: int = 8
    metrics_port: int = 0  # 0: no metrics server
