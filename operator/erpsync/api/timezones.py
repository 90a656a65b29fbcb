"""Time-zone names the API accepts: those of the pinned `tzdata` release.

Kubernetes CEL has no time-zone check, so the CRD carries these names as an enum. They come from
the `tzdata` package (pinned in pyproject.toml) rather than the machine's /usr/share/zoneinfo, so
the generated CRD is the same on every machine.
"""

from functools import cache
from importlib import metadata, resources

# Not places: the pseudo-zone "Factory" means "no zone configured" and Kubernetes users never mean it.
_EXCLUDED = frozenset({"Factory"})


@cache
def zone_names() -> tuple[str, ...]:
    listing = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return tuple(sorted(name for name in listing.split() if name not in _EXCLUDED))


@cache
def zone_name_set() -> frozenset[str]:
    return frozenset(zone_names())


def tzdata_version() -> str:
    return metadata.version("tzdata")
