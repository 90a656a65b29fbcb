"""erp-sync-worker: the sync workers that move ERP data into Procore (filled by issue [3/4])."""

__version__ = "0.1.0"
