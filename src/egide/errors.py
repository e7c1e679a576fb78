"""Every error Égide raises on purpose, each mapped to an HTTP status and a CLI exit code.

The tree::

    EgideError                      500 / exit 1
    ├── InvalidInput                400 / exit 2   bad value from a user (marking, XML, argument)
    │   ├── InvalidLabel                           unknown marking token, malformed label
    │   │   └── UnknownPolicy                      policy identifier not loaded
    │   ├── ContextOverflow                        prompt longer than the model's context
    │   └── Infeasible              422            a plan's constraints cannot all be met
    ├── AuthenticationFailed        401 / exit 3   missing, wrong, expired or revoked credential
    ├── Forbidden                   403 / exit 4   authenticated, but policy says no
    │   └── ModelDisabled                          the kill switch is on for this model
    ├── NotFound                    404 / exit 5   no such object, or one the caller may not see
    ├── Conflict                    409 / exit 6   duplicate name, wrong state for the transition
    ├── PayloadTooLarge             413 / exit 2
    ├── RateLimited                 429 / exit 7   quota exhausted; carries retry_after seconds
    ├── Unavailable                 503 / exit 8   queue full, database or engine unreachable
    ├── IntegrityError              500 / exit 9   broken audit chain, tampered weights
    └── ConfigurationError          500 / exit 10  data directory unusable, settings inconsistent

Every message says what went wrong *and what to do about it*.
"""

from __future__ import annotations


class EgideError(Exception):
    """Base of every deliberate Égide error."""

    http_status = 500
    exit_code = 1
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(EgideError):
    """A value supplied by a user is malformed or out of range."""

    http_status = 400
    exit_code = 2
    code = "invalid_request_error"


class InvalidLabel(InvalidInput):
    """A security marking, label or STANAG 4774 document is not valid."""

    code = "invalid_label"


class UnknownPolicy(InvalidLabel):
    """A label names a security policy that is not loaded."""

    code = "unknown_policy"


class ContextOverflow(InvalidInput):
    """The prompt does not fit in the model's context window."""

    code = "context_length_exceeded"


class Infeasible(InvalidInput):
    """A planning problem's constraints cannot all be met; `issues` says which and by how much."""

    http_status = 422
    code = "infeasible_problem"

    def __init__(self, message: str, issues: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.issues = issues


class AuthenticationFailed(EgideError):
    """The credential is missing, wrong, expired or revoked."""

    http_status = 401
    exit_code = 3
    code = "invalid_api_key"


class Forbidden(EgideError):
    """The principal is authenticated but the policy refuses the action."""

    http_status = 403
    exit_code = 4
    code = "permission_denied"


class ModelDisabled(Forbidden):
    """The model's kill switch is on."""

    code = "model_disabled"


class NotFound(EgideError):
    """The object does not exist, or the caller may not learn that it exists."""

    http_status = 404
    exit_code = 5
    code = "not_found"


class Conflict(EgideError):
    """The object already exists, or is in the wrong state for this action."""

    http_status = 409
    exit_code = 6
    code = "conflict"


class PayloadTooLarge(EgideError):
    """The request or file is larger than the configured limit."""

    http_status = 413
    exit_code = 2
    code = "payload_too_large"


class RateLimited(EgideError):
    """A quota or rate limit is exhausted."""

    http_status = 429
    exit_code = 7
    code = "rate_limit_exceeded"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(EgideError):
    """A dependency (queue, database, engine) cannot serve the request now."""

    http_status = 503
    exit_code = 8
    code = "service_unavailable"


class IntegrityError(EgideError):
    """Stored evidence does not verify: broken audit chain, tampered weights, bad signature."""

    http_status = 500
    exit_code = 9
    code = "integrity_error"


class ConfigurationError(EgideError):
    """The installation is unusable as configured (data directory, settings, keys)."""

    http_status = 500
    exit_code = 10
    code = "configuration_error"
