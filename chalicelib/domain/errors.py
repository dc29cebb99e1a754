"""The exceptions the domain and services raise, and nothing else.

    DomainError
    ├── ValidationFailed      bad input: a field-by-field explanation (HTTP 400)
    │   └── PayloadTooLarge   a body over the size its route accepts (413)
    ├── Unauthenticated       no credential, or one we do not know (401)
    ├── Forbidden             a known credential acting outside its unit (403)
    ├── NotFound              the thing asked for does not exist, or is not yours (404)
    ├── Conflict              the request clashes with the current state (409)
    │   ├── IllegalTransition a note or bill cannot move to the state asked for
    │   ├── BillNotReimbursable  the bill cannot be reimbursed now (not normal, paper, reversing)
    │   └── BillReimbursed    a unit holds the bill's reimbursement
    ├── RateLimited           too many attempts; ``retry_after`` seconds (429)
    ├── SignatureInvalid      a channel notification or a bill failed verification
    └── ServiceUnavailable    an outside system we depend on failed (503)
        ├── NoNumberRange     a unit has no open number range for a bill kind
        └── BillNotVerified   a bill just signed does not verify with the published keys

The API maps each to HTTP in one table (``chalicelib.api.errors.STATUS``, with a test that
every subclass is in it); callbacks and pages take their status from it and word only the
body. AWS failing (throttling, timeouts, 5xx) is ``ServiceUnavailable`` once it leaves an
adapter (``chalicelib.adapters.aws.aws_boundary``). ``SmsRejected`` (``domain/sms.py``) is a
``ServiceUnavailable`` too.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error this application raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None,
                 details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})  # extra members of the error object, e.g. a holder
        if code is not None:
            self.code = code


class ValidationFailed(DomainError):
    """Raised when input is malformed; ``fields`` maps each bad field to why."""

    code = "validation_failed"

    def __init__(self, message: str, fields: dict[str, str] | None = None,
                 *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.fields = dict(fields or {})


class PayloadTooLarge(ValidationFailed):
    """Raised when a request body is larger than its route accepts; nothing was read from it."""

    code = "payload_too_large"


class Unauthenticated(DomainError):
    """Raised when a request carries no credential or one we do not recognise."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """Raised when a valid credential asks for something its unit may not do."""

    code = "forbidden"


class NotFound(DomainError):
    """Raised when the requested resource does not exist (or belongs to another unit)."""

    code = "not_found"


class Conflict(DomainError):
    """Raised when the request cannot be applied to the resource's current state."""

    code = "conflict"


class IllegalTransition(Conflict):
    """Raised when a state machine is asked for a move its rules forbid."""

    code = "illegal_transition"


class BillNotReimbursable(Conflict):
    """Raised by ``ReimbursementRepository.add`` when, at the instant of the write, the bill is
    not normal, was exchanged to paper, or its reversal has begun."""

    code = "bill_not_normal"


class BillReimbursed(Conflict):
    """Raised by ``BillRepository.set_status(..., unreimbursed=True)`` when, at the instant of
    the write, a unit holds the bill's reimbursement."""

    code = "already_reimbursed"


class RateLimited(DomainError):
    """Raised when a client or a resource exceeded its allowance; retry after ``retry_after`` s."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SignatureInvalid(DomainError):
    """Raised when a signature, certificate, timestamp or identity check fails.

    The message says precisely which check failed; nothing was changed.
    """

    code = "signature_invalid"


class ServiceUnavailable(DomainError):
    """Raised by adapters when the outside system they wrap fails in a way we cannot fix."""

    code = "service_unavailable"


class NoNumberRange(ServiceUnavailable):
    """Raised when a unit has no open number range for a bill kind; issuance waits for one."""

    code = "no_number_range"


class BillNotVerified(ServiceUnavailable):
    """Raised when a freshly signed bill does not verify with the published keys: nothing is
    archived, and the issuance job fails so that it runs again."""

    code = "bill_not_verified"
