"""ISO 3166 codes, for the per-item validation Procore applies to `country_code` and `state_code`.

Country codes come from the `iso3166.tab` that the pinned `tzdata` dependency ships, so the list is
complete without being copied here. Subdivisions are listed for the countries Procore's customers
mostly use; other countries' state codes are accepted when they look like an ISO 3166-2 suffix.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

# The 50 states, the District of Columbia and the outlying territories.
_US_STATE_LIST = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR "
    "PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR UM VI"
)
US_STATES = frozenset(_US_STATE_LIST.split())
CANADIAN_PROVINCES = frozenset(["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"])
AUSTRALIAN_STATES = frozenset(["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"])

SUBDIVISIONS: dict[str, frozenset[str]] = {"US": US_STATES, "CA": CANADIAN_PROVINCES, "AU": AUSTRALIAN_STATES}

# Procore assumes the United States when a record has a state but no country.
DEFAULT_COUNTRY = "US"

_SUBDIVISION_SUFFIX = re.compile(r"^[A-Z0-9]{1,3}$")


@cache
def country_codes() -> frozenset[str]:
    table = resources.files("tzdata.zoneinfo").joinpath("iso3166.tab").read_text(encoding="utf-8")
    return frozenset(line.split("\t", 1)[0] for line in table.splitlines() if line and not line.startswith("#"))


def is_country_code(code: str) -> bool:
    return code in country_codes()


def is_state_code(code: str, country: str) -> bool:
    known = SUBDIVISIONS.get(country)
    if known is not None:
        return code in known
    return bool(_SUBDIVISION_SUFFIX.match(code))
