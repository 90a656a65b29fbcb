"""erp-sync-operator: ErpSyncSchedule API, planner and operator."""

__version__ = "0.1.0"
