"""Checks and presentation shared by the resource handlers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..iso_codes import DEFAULT_COUNTRY, is_country_code, is_state_code
from ..routing import ApiError, RequestContext, not_found
from ..schema import FieldErrors
from ..state import JsonObject, Record, iso_timestamp


def present(record: Record, blank_fields: Iterable[str], **computed: Any) -> JsonObject:
    """A record as the API shows it: every documented field (null when unset), then what was stored."""
    shown: JsonObject = {"id": record.id}
    shown.update(dict.fromkeys(blank_fields))
    shown.update(record.fields)
    shown.update(computed)
    shown["created_at"] = iso_timestamp(record.created_at)
    shown["updated_at"] = iso_timestamp(record.updated_at)
    return shown


def check_company_id(ctx: RequestContext, company_id: int) -> None:
    """A company id in the path, query or body must be the one the Procore-Company-Id header names."""
    if company_id != ctx.company.id:
        raise ApiError(400, f"company_id {company_id} does not match the Procore-Company-Id header ({ctx.company.id})")


def require_project(ctx: RequestContext, project_id: int) -> Record:
    project = ctx.state.project_in_company(project_id, ctx.company.id)
    if project is None:
        raise not_found("Project")
    return project


def merge_problems(*parts: FieldErrors) -> FieldErrors:
    merged: FieldErrors = {}
    for part in parts:
        for name, messages in part.items():
            merged.setdefault(name, []).extend(messages)
    return merged


def required_text_problems(item: JsonObject, record: Record | None, *names: str) -> FieldErrors:
    """Procore's "can't be blank": the field must be given when creating, and never emptied."""
    problems: FieldErrors = {}
    for name in names:
        value = item.get(name, record.fields.get(name) if record is not None else None)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems[name] = ["can't be blank"]
    return problems


def address_problems(item: JsonObject, record: Record | None) -> FieldErrors:
    """ISO 3166 checks on country_code (alpha-2) and state_code (a subdivision of that country)."""
    stored = record.fields if record is not None else {}
    problems: FieldErrors = {}
    country = item.get("country_code", stored.get("country_code"))
    if "country_code" in item and country is not None and not is_country_code(country):
        problems["country_code"] = ["is not a valid ISO 3166-1 alpha-2 country code"]
    state = item.get("state_code")
    if state is not None and "country_code" not in problems and not is_state_code(state, country or DEFAULT_COUNTRY):
        problems["state_code"] = [f"is not a valid state code for {country or DEFAULT_COUNTRY}"]
    return problems


def origin_id_matches(ctx: RequestContext, record: Record) -> bool:
    wanted = ctx.query.get("filters[origin_id]")
    return wanted is None or record.origin_id == wanted


def id_matches(ctx: RequestContext, record: Record) -> bool:
    wanted = ctx.query.get("filters[id]")
    return wanted is None or record.id in wanted
