"""erp-sync-worker: the sync workers that move ERP data into Procore."""

__version__ = "0.1.0"
