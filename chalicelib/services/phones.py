"""Payers' phone numbers: validation (phonenumbers, mainland mobiles), keyed hashes, masking.

A phone number is never an index key, a table key or a log line. Where one must be found again
("my bills", one-time codes) it is stored as ``phone_key``: HMAC-SHA256 under a key derived
from ``PAYER_PEPPER``. A plain SHA-256 of an 11-digit number falls to a few billion guesses; the
HMAC does not while the pepper stays out of the database.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from phonenumbers import PhoneNumberType

from chalicelib.domain.masking import scrub_phones

_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def cn_mobile(text: object) -> str | None:
    """The 11-digit mainland mobile number in ``text`` (spaces, dashes, +86 allowed), or None."""
    if not isinstance(text, str) or not 0 < len(text) <= 32:
        return None
    try:
        number = phonenumbers.parse(text.strip(), "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return None
    national = str(number.national_number)
    return national if len(national) == 11 else None


def derive_key(pepper: str, purpose: str) -> bytes:
    """One key per purpose from the one pepper, so that no two uses share a key."""
    return hmac.new(pepper.encode(), f"fiscal-bills/{purpose}".encode(), hashlib.sha256).digest()


def phone_key(pepper: str, phone: str) -> str:
    """The stable keyed hash of a phone number (normalized first when it is a valid mobile)."""
    digits = cn_mobile(phone) or phone
    return hmac.new(derive_key(pepper, "phone"), digits.encode(), hashlib.sha256).hexdigest()


def scrub(text: str) -> str:
    """``text`` with every mainland mobile number masked, with or without +86 (for logs)."""
    return scrub_phones(text)
