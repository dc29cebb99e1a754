"""Finding a note by typing its payment code and the payer's name, to see the name in full.

A typo in the code is caught by its check digit before anything is read, with a message that
says what is wrong. A well-formed code with a name that does not match gets the same neutral
"not found" as a code nobody issued, so a name cannot be confirmed by probing. Every lookup
that reaches the store counts, per note per day and per client per hour (not only the wrong
ones: a right guess after the limit would otherwise still be answered), and a miss spends the
client's guessing budget shared with every public route that takes a code (``limits``). The
phone and credit code stay masked: a name is no proof of who asks.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import timedelta

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import check_payment_code
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.masking import mask_credit_code, mask_phone
from chalicelib.domain.notes import Note
from chalicelib.domain.text import clean_text
from chalicelib.services import limits
from chalicelib.services.notes import note_view
from chalicelib.services.ports import Ports

LOOKUPS_PER_NOTE_PER_DAY = 10
LOOKUPS_PER_CLIENT_PER_HOUR = 30
_SEPARATORS = re.compile(r"[\s\-－—_·.]+")


def plain_code(text: object) -> str:
    """The code as typed, without the spaces and dashes people copy from the printed notice."""
    if not isinstance(text, str):
        return ""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))


def plain_name(text: object) -> str:
    """A name compared as a person would: full-width folded, spaces dropped, case ignored."""
    if not isinstance(text, str):
        return ""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def lookup_note(deps: Ports, payment_code: object, payer_name: object, client: str) -> Note:
    """The note whose code and payer both match; ``NotFound`` (neutral) otherwise."""
    code = plain_code(payment_code)
    check_payment_code(code)
    name = plain_name(payer_name)
    if not name or clean_text(payer_name, limit=100, required=True)[1] is not None:
        raise ValidationFailed("请填写缴款人姓名或单位全称",
                               {"payer_name": "请填写缴款人姓名或单位全称"})
    now = deps.clock().astimezone(CHINA_TZ)
    guesser = limits.Guesser.client(client)
    limits.guard(deps, guesser)
    limits.limit(deps, f"note-lookup-client#{limits.client_key(client)}#{now:%Y%m%d%H}",
                 LOOKUPS_PER_CLIENT_PER_HOUR, timedelta(hours=1), "查询过于频繁，请一小时后再试")
    limits.limit(deps, f"note-lookup#{code}#{now:%Y%m%d}", LOOKUPS_PER_NOTE_PER_DAY,
                 timedelta(days=1), "该缴款码今日查询次数过多，请明日再试")
    note = deps.notes.get(code)
    if note is None or not hmac.compare_digest(plain_name(note.payer.name).encode(),
                                               name.encode()):
        limits.count_miss(deps, guesser)
        raise NotFound("未找到相符的缴款书，请核对缴款码和缴款人后重试", code="note_not_found")
    return note


def lookup_view(deps: Ports, note: Note) -> dict:
    """The note as its payer sees it: the public view with the name the payer typed, and the
    phone and credit code masked as on every public page (a name is easily guessed)."""
    view = note_view(deps, note, public=True)
    view["payer"] = {"name": note.payer.name, "type": note.payer.type,
                     "phone": mask_phone(note.payer.phone),
                     "credit_code": mask_credit_code(note.payer.credit_code)}
    return view
