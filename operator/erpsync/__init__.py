"""erp-sync-operator: ErpSyncSchedule API, planner and operator."""

from importlib.metadata import version

# One version, the distribution's (pyproject.toml): `erp-sync version`, the workers, the image's label
# and the chart's appVersion are tested against it (tests/ship/test_release.py).
__version__ = version("erp-sync-operator")
