"""erp-sync-worker: the sync workers that move ERP data into Procore."""

from importlib.metadata import version

__version__ = version("erp-sync-operator")  # the same distribution as the operator, so one version
