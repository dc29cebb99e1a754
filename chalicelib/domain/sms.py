"""A text message as the services hand it to a provider, and the one error that ends it.

Amazon SNS (outside mainland China) sends ``text`` as it is. Mainland providers (Alibaba Cloud
SMS) send only approved templates: ``template`` names ours (``services/sms_templates.py``; the
account's template code is configuration) and ``params`` are its variables, short strings that
stay within the provider's limits.

    ServiceUnavailable
    └── SmsRejected    the provider refused this message for good: sending it again cannot help
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib.domain.errors import ServiceUnavailable


@dataclass(frozen=True)
class SmsMessage:
    """One text: the template it is an instance of, its full text, its template variables and
    our reference for it (the SMS event id; providers that echo one in receipts get it)."""

    template: str
    text: str
    params: Mapping[str, str] = field(default_factory=dict)
    reference: str = ""


class SmsRejected(ServiceUnavailable):
    """Raised when the provider refuses a message permanently (a number it will not text, a
    template or parameters it does not accept): the send is recorded as rejected, not retried."""

    code = "sms_rejected"
