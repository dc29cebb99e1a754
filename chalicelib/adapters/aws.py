"""boto3 clients, built once per process on first use, pointed at the local stack when asked;
and the boundary every AWS adapter sits behind.

``aws_boundary`` decorates an adapter class (every public method) or a function: AWS failing
(throttling, a 5xx, a timeout, a lost connection; see ``is_unavailable``), as botocore raises it
or as pynamodb wraps it, leaves the adapter as ``ServiceUnavailable``, which the edge answers
503 (``api/errors.py``) and jobs let fail so that they run again. Everything else passes
unchanged: our own errors (``DomainError``), and the botocore or pynamodb errors an adapter
is expected to catch itself, a refused condition above all (``ConditionalCheckFailed`` is how
a write learns it was a duplicate; the adapters turn it into an outcome or a domain error).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.errors import DomainError, ServiceUnavailable

UNAVAILABLE = "服务暂时不可用，请稍后重试"


@cache
def botocore_session() -> Any:
    """The process's one botocore session, for every boto3 client (``client``) and every
    pynamodb connection (``dynamo_models`` hands it to pynamodb).

    A session loads each service's model, endpoint rules and partitions once; pynamodb made a
    session per connection (six in the issuing function, besides boto3's one per client), each
    ≈ 10 MB and 110-180 ms of CPU to load the DynamoDB model again. A session is not safe to
    make clients from in several threads at once, so this one makes them one at a time (they
    are made once per process; a client itself is thread-safe). Re-entrant: making a client may
    load the credentials, and a credential provider (an assumed role, SSO) makes its own STS
    client from the same session in the same thread."""
    import threading

    import botocore.session  # deferred with boto3: paid only by paths that need AWS

    class OneClientAtATime(botocore.session.Session):
        def __init__(self) -> None:
            super().__init__()
            self._making = threading.RLock()

        def create_client(self, *args: Any, **kwargs: Any) -> Any:
            with self._making:
                made = super().create_client(*args, **kwargs)
            build_user_agent_once(made)
            if made.meta.service_model.service_name == "dynamodb":
                from chalicelib.adapters.dynamo_raw import decode_reads

                decode_reads(made)
            return made

    return OneClientAtATime()


UA_STRINGS = 32  # distinct feature sets per client whose User-Agent is kept


def build_user_agent_once(made: Any) -> None:
    """Make ``made`` (a botocore client) build its User-Agent header once per set of features.

    botocore builds the header twice for every request (once for the request, once more right
    before signing, in case a feature was recorded meanwhile), each time from scratch: about a
    dozen components, each sanitised character by character, ≈ 0.2 ms a time, 10-17 % of a
    small request's CPU. Every part of it is fixed for the client but the features ("m/...")
    the request used, which botocore keeps in the request's context: the header is built once
    for each set of them, by botocore itself, and the same string is used again. The header is
    byte for byte botocore's (``tests/unit/test_aws_clients.py``). A client without the
    attribute (another botocore) is left as it is."""
    creator = getattr(made, "_user_agent_creator", None)
    build = getattr(creator, "to_string", None)
    if build is None:
        return
    from botocore.context import get_context

    built: dict[frozenset[str], str] = {}

    def to_string() -> str:
        context = get_context()
        features = frozenset(context.features) if context is not None else frozenset()
        features |= frozenset(getattr(creator, "_client_features", None) or ())
        found = built.get(features)
        if found is None:
            if len(built) >= UA_STRINGS:
                built.clear()
            found = built[features] = build()
        return found

    creator.to_string = to_string  # type: ignore[union-attr]  # the instance's, used by the
    # client's request and by its handler that rebuilds the header before signing


@cache
def _boto3_session() -> Any:
    import boto3  # deferred: ~180 ms of cold start, paid only by paths that need AWS

    return boto3.session.Session(botocore_session=botocore_session())


@cache
def _client(service: str, region: str, endpoint: str | None) -> Any:
    return _boto3_session().client(service, region_name=region, endpoint_url=endpoint)


def forget_clients() -> None:
    """Make every client and the session again on next use (a test that starts moto's
    in-process mock after a client was made: moto hooks sessions made after it is imported)."""
    _client.cache_clear()
    _boto3_session.cache_clear()
    botocore_session.cache_clear()


def client(service: str, settings: Settings) -> Any:
    endpoint = settings.dynamodb_endpoint_url if service == "dynamodb" \
        else settings.aws_endpoint_url
    return _client(service, settings.region, endpoint)


_RETRYABLE_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "RequestThrottled", "SlowDown",
    "TransactionInProgressException", "InternalServerError", "InternalError",
    "ServiceUnavailable", "ServiceUnavailableException", "KMSInternalException",
    "LimitExceededException"})


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` is AWS failing, not us: throttling, a 5xx, a timeout or a lost
    connection, as botocore raises it or as pynamodb wraps it. Sent again, the request may
    succeed, so the edge answers 503 (the one mapping of these errors, ``api/errors.py``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    current: BaseException | None = exc
    for _ in range(5):
        if current is None:
            return False
        if isinstance(current, BotoCoreError):
            return True
        if isinstance(current, ClientError):
            error = current.response.get("Error", {})
            status = current.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return error.get("Code") in _RETRYABLE_CODES or int(status or 0) >= 500
        current = getattr(current, "cause", None) or current.__cause__  # pynamodb keeps botocore's
    return False


@contextmanager
def unavailable_on_aws_failure() -> Iterator[None]:
    """AWS failing inside the block is raised as ``ServiceUnavailable`` (the cause kept)."""
    try:
        yield
    except DomainError:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailable(UNAVAILABLE) from exc
        raise



def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(function):  # fails while iterated, not when called
        @functools.wraps(function)
        def generator(*args: Any, **kwargs: Any) -> Any:
            with unavailable_on_aws_failure():
                yield from function(*args, **kwargs)
        return generator

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        with unavailable_on_aws_failure():
            return function(*args, **kwargs)
    return guarded


def aws_boundary[T](target: T) -> T:
    """Decorate an adapter class (each public method, static and class methods included) or
    a function, so that AWS failing leaves it as ``ServiceUnavailable`` (module docstring)."""
    if not inspect.isclass(target):
        return _guarded(target)  # type: ignore[arg-type, return-value]
    for name, member in list(vars(target).items()):
        if name.startswith("_"):
            continue
        if isinstance(member, staticmethod):
            setattr(target, name, staticmethod(_guarded(member.__func__)))
        elif isinstance(member, classmethod):
            setattr(target, name, classmethod(_guarded(member.__func__)))
        elif inspect.isfunction(member):
            setattr(target, name, _guarded(member))
    target.__aws_boundary__ = True  # type: ignore[attr-defined]  # checked by a test
    return target
