"""OAuth 2 client credentials, as Procore's login host serves them: `POST /oauth/token`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl

from .clock import Clock
from .config import EmulatorConfig
from .routing import ApiResponse
from .schema import SchemaViolation, load_operation

TOKEN_PATH = "/oauth/token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class IssuedToken:
    client_id: str
    created_at: int
    expires_in: int

    def expired(self, now: float) -> bool:
        return now >= self.created_at + self.expires_in


class TokenStore:
    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}

    def issue(self, client_id: str) -> tuple[str, IssuedToken]:
        now = self._clock.now()
        # Forget expired tokens so memory stays bounded over a long demo or benchmark.
        self._tokens = {value: token for value, token in self._tokens.items() if not token.expired(now)}
        value = secrets.token_urlsafe(32)
        token = IssuedToken(client_id=client_id, created_at=int(now), expires_in=self._config.token_expires_in)
        self._tokens[value] = token
        return value, token

    def problem_with(self, authorization: str | None) -> str | None:
        """Why a request's Authorization header is not acceptable, or None when it is."""
        if not authorization:
            return "The access token is missing"
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return "The access token is missing"
        token = self._tokens.get(value.strip())
        if token is None:
            return "The access token is invalid"
        if token.expired(self._clock.now()):
            return "The access token expired"
        return None

    def client_of(self, authorization: str) -> str:
        """The client a valid Authorization header's token was issued to."""
        return self._tokens[authorization.partition(" ")[2].strip()].client_id

    def expire_all(self) -> None:
        self._tokens.clear()


def unauthorized(description: str) -> ApiResponse:
    return ApiResponse(
        401,
        {"error": "invalid_token", "error_description": description},
        {"WWW-Authenticate": f'Bearer realm="Procore", error="invalid_token", error_description="{description}"'},
    )


def _oauth_error(status: int, error: str, description: str) -> ApiResponse:
    return ApiResponse(status, {"error": error, "error_description": description}, {"Cache-Control": "no-store"})


def token_request(content_type: str, body: bytes, config: EmulatorConfig, tokens: TokenStore) -> ApiResponse:
    # OAuth 2 (RFC 6749 section 4.4.2) sends the token request form-encoded. The derived schema says
    # application/json; the emulator follows the RFC, as the project's reference asks of the worker.
    if content_type.split(";")[0].strip().lower() != FORM_CONTENT_TYPE:
        return _oauth_error(
            400, "invalid_request", f"The token request must be {FORM_CONTENT_TYPE}, as OAuth 2 specifies"
        )
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return _oauth_error(400, "invalid_request", "The form body could not be parsed")
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            return _oauth_error(400, "invalid_request", f"{name} is given more than once")
        form[name] = value
    try:
        load_operation("OauthTokenPost").check_body(form)
    except SchemaViolation as violation:
        details = "; ".join(f"{field} {', '.join(messages)}" for field, messages in violation.errors.items())
        return _oauth_error(400, "invalid_request", details)
    if form["grant_type"] != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is served by this emulator")
    expected_secret = config.clients.get(form["client_id"])
    if expected_secret is None or not secrets.compare_digest(expected_secret.encode(), form["client_secret"].encode()):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    value, token = tokens.issue(form["client_id"])
    return ApiResponse(
        200,
        {"access_token": value, "token_type": "bearer", "expires_in": token.expires_in, "created_at": token.created_at},
        {"Cache-Control": "no-store"},
    )
