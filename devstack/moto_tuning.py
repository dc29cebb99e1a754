"""Two costs of moto that grew with every bill the local stack handled, cut where moto runs.

Profiled during the integration tier's storm (a hundred notes notified ten times at once, moto
then inside the stack's process), a fifth of the stack's CPU was moto re-deriving SQS queue
attributes, and every read of ``/moto-api/data.json`` serialised every object moto had ever made:

- **Retention check.** Before it hands out a message, moto's SQS checks the queue's retention
  period by computing *all* the queue's attributes, which counts the visible, in-flight and
  delayed messages (three passes over the queue, each reading the clock per message). A
  duplicate notification enqueues its issue job again (at-least-once), so a storm fills the queue
  with a thousand jobs and every receive walked all of them: quadratic. Here the check reads the
  one attribute it needs; what it decides is unchanged.
- **Instance tracking.** moto keeps every model instance it ever makes (each S3 object version,
  each SQS message) in a class-level list, only for its dashboard's ``data.json``, which
  serialises them all on every read (~1 CPU-s a read after 300 bills), and never frees them. The
  integration tests read SMS texts there; only SNS texts are tracked now.

A third, per request and not per bill: moto's dispatch looks up, on every request, the
methods of the response class by ``inspect.getmembers`` and turns action and attribute names
from CamelCase to snake_case character by character (``remember_name_lookups``; about a
quarter of its dispatch's CPU in a profile of the bills' mix of S3, SQS and SNS requests).
Classes and names do not change while moto runs, so each answer is remembered. Likewise its
response serializer lists the names each member of each answer may have on moto's object
(``devstack/moto_aliases.py``, which the in-process test tiers install too), and its
DynamoDB update validation looks each walker's processor up once per node class
(``devstack/moto_updates.py``, likewise).

``start_moto`` applies all five (in moto's process, ``devstack/moto_process.py``, or the
stack's), to that process from then on (``apply()`` is idempotent). The tiers' in-process moto
(``tests/world.py``, the contract tier's ``aws``) takes only the last three, which
change no answer: their moto keeps moto's own retention check and dashboard.
"""

from __future__ import annotations

from typing import Any

TRACKED_MODELS = frozenset({("sns", "SMS")})  # (moto service, model class) kept for data.json


def apply() -> None:
    """The five changes, for this process."""
    from devstack import moto_aliases, moto_updates

    retention_check_reads_one_attribute()
    track_only(TRACKED_MODELS)
    remember_name_lookups()
    moto_aliases.install()
    moto_updates.install()


# moto's modules that call camelcase_to_underscores per request (each imported it by name)
SNAKE_CASE_CALLERS = ("moto.core.responses", "moto.sqs.models", "moto.sns.models",
                      "moto.sns.responses", "moto.utilities.utils")


def remember_name_lookups() -> None:
    """moto's ``method_names_from_class`` (the dispatcher's, per response class) and
    ``camelcase_to_underscores`` (a pure function of its text) answer each question once
    (idempotent). The method names come as a fresh list each time, as before."""
    import functools
    import importlib

    from moto.core import responses, utils

    if hasattr(responses.camelcase_to_underscores, "cache_info"):
        return
    names = functools.cache(lambda clazz: tuple(utils.method_names_from_class(clazz)))

    def method_names_from_class(clazz: object) -> list[str]:
        return list(names(clazz))

    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]
    snake = functools.lru_cache(maxsize=4096)(utils.camelcase_to_underscores)
    for name in SNAKE_CASE_CALLERS:
        module: Any = importlib.import_module(name)
        module.camelcase_to_underscores = snake


def retention_check_reads_one_attribute() -> None:
    """moto's ``is_message_valid_based_on_retention_period`` without building every attribute."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str,
                                                   message: Any) -> bool:
        period = int(self.get_queue(queue_name).message_retention_period)
        return bool(period + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period)


def track_only(models: frozenset[tuple[str, str]]) -> None:
    """moto remembers for ``/moto-api/data.json`` only instances of ``models`` ((service,
    class name) pairs) from now on, and forgets those of other models it holds."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import model_data

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N807 - moto's own hook
        instance = super(BaseModel, cls).__new__(cls)
        if (cls.__module__.split(".")[1], cls.__name__) in models:
            cls.instances_tracked.append(instance)
        return instance

    BaseModel.__new__ = __new__  # type: ignore[method-assign]
    for service, classes in model_data.items():
        for name, cls in classes.items():
            if (service, name) not in models:
                cls.instances_tracked = []  # type: ignore[attr-defined]
