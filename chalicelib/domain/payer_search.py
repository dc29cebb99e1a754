"""The unit console's payer search: which notes a word finds, and the short text of a payer
that an index carries so that a search reads a few bytes a note instead of the note.

A word finds a note when it is part of the payer's name or of the payment code (as it always
did), or when it is the payer's mobile phone or unified social credit code, normalised as the
note's form normalises them (``+86``, spaces and dashes dropped; the code upper-cased) and
equal to it: a phone number finds its payer's notes, not every note whose phone starts alike.

``payer_text`` is what the notes table keeps beside each note for the search index (written
once, with the note: a payer never changes): the name, the phone and the credit code, one a
line. A store may pre-select with ``needles`` (a note can be found only if one of them is
part of its payer text or its payment code) and must then decide with ``finds``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.domain.notes import Payer

_CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_CREDIT_CODE = re.compile(r"^[0-9A-Z]{18}$")


def payer_text(payer: Payer) -> str:
    """The name, the phone and the credit code, one a line (empty when absent)."""
    return f"{payer.name}\n{payer.phone or ''}\n{payer.credit_code or ''}"


def payer_from_text(text: str) -> tuple[str, str, str]:
    """``payer_text``'s name, phone and credit code (the name is taken whole, lines and all)."""
    name, phone, credit = text.rsplit("\n", 2)
    return name, phone, credit


@dataclass(frozen=True)
class PayerSearch:
    """What one word in the search box finds (see the module's docstring)."""

    word: str

    @property
    def phone(self) -> str | None:
        digits = self.word.removeprefix("+86").replace(" ", "").replace("-", "")
        return digits if _CN_MOBILE.match(digits) else None

    @property
    def credit_code(self) -> str | None:
        code = self.word.replace(" ", "").upper()
        return code if _CREDIT_CODE.match(code) else None

    @property
    def needles(self) -> tuple[str, ...]:
        """Texts of which a found note's payer text or payment code holds at least one."""
        return tuple(dict.fromkeys(n for n in (self.word, self.phone, self.credit_code) if n))

    def finds(self, payment_code: str, name: str, phone: str | None,
              credit_code: str | None) -> bool:
        return (self.word in name or self.word in payment_code
                or (self.phone is not None and phone == self.phone)
                or (self.credit_code is not None and credit_code == self.credit_code))

    def finds_payer(self, payment_code: str, payer: Payer) -> bool:
        return self.finds(payment_code, payer.name, payer.phone, payer.credit_code)
