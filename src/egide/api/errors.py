"""One error shape for every failure: `{"error": {"message", "type", "param", "code"}}`.

Every `EgideError` keeps its HTTP status and code; validation errors from the
wire models become 400 with the offending field in `param`; anything else is
a 500 that never leaks a traceback.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from egide.errors import EgideError, Infeasible, RateLimited

log = logging.getLogger(__name__)

# The `type` field clients (and the OpenAI SDKs) switch on, by HTTP status.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}


def error_body(
    status: int, message: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    """The OpenAI-style error object for a status and message."""
    return {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "server_error"),
            "param": param,
            "code": code,
        }
    }


def egide_error_body(error: EgideError) -> dict[str, Any]:
    """The error object of a deliberate Égide error."""
    body = error_body(error.http_status, error.message, error.code)
    if isinstance(error, Infeasible):
        body["error"]["issues"] = list(error.issues)
    return body


def error_response(error: EgideError) -> JSONResponse:
    """The JSON response of an Égide error, with `Retry-After` for rate limits."""
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return JSONResponse(egide_error_body(error), status_code=error.http_status, headers=headers)


async def _egide_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EgideError)
    if exc.http_status >= 500 and exc.http_status != 503:
        log.error("request failed: %s", exc.message)
    return error_response(exc)


async def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    # In a union ("a string or a list of parts"), the branch the value did not take
    # fails with a bare type error; the explanation is the error that is not one.
    specific = [e for e in errors if not str(e.get("type", "")).endswith("_type")]
    first = (specific or errors or [{"loc": (), "msg": "invalid request"}])[0]
    # Drop the "body" prefix FastAPI adds, so param names the JSON field itself.
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(loc) or None
    where = f" at {param}" if param else ""
    message = f"invalid request{where}: {first.get('msg', 'invalid value')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return JSONResponse(error_body(400, message, "invalid_request_error", param), status_code=400)


async def _http_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(exc.status_code, str(exc.detail), code),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _unexpected_handler(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, UnicodeEncodeError) and "surrogate" in str(exc):
        # A text field no request model checked: still the client's mistake, not ours.
        message = "the request holds an unpaired UTF-16 surrogate; send valid Unicode"
        return JSONResponse(error_body(400, message, "invalid_request_error"), status_code=400)
    log.exception("unexpected error while serving a request", exc_info=exc)
    return JSONResponse(
        error_body(500, "internal error; the operator finds details in the log", "internal_error"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure of `app` through the one error shape."""
    app.add_exception_handler(EgideError, _egide_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
