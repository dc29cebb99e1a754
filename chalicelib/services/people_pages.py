"""The people pages a page at a time (人员分页): the finance console's accounts of the viewer's
region (``PAGE`` to a page) and a unit admin's accounts of their unit (``UNIT_PAGE``: each row
carries its forms), none cut silently.

A page lists accounts in the store's listing order (``PeopleStore.page``: a unit's people by
username; a region's unit people by region, unit and username, then its finance people by
username) and, when more follow, a cursor to the next: the position after its last account,
sealed to the viewer and the list (``domain/cursors``, as the audit page's and ``GET
/v1/notes``'s). An edited cursor, or one carried to another person or another reach, is a 400
(``ValidationFailed``) that reads nothing. A page costs a bounded number of reads, whatever the
table holds (the store's own bound: a regional finance viewer's finance people are found among
others').
"""

from __future__ import annotations

from chalicelib.domain.cursors import seal, unseal
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.people import Person, Session, UnitAction
from chalicelib.services.admin import cursor_key
from chalicelib.services.people import unit_region
from chalicelib.services.ports import Ports

PAGE = 100
# A unit admin's rows each carry three forms (permissions, TOTP reset, disable): at 100 the page
# would weigh ~125 KB; at 50 it stays under the consoles' 100 KB (~70 KB).
UNIT_PAGE = 50
_MOST_POSITION = 120  # characters of a place: region, unit code and username, with separators


def _question(viewer: Session) -> str:
    return (f"console-people|{viewer.username}|{viewer.role.value}|{viewer.scope}|"
            f"{viewer.unit_code or ''}")


def _after(deps: Ports, viewer: Session, cursor: str | None) -> str | None:
    after = unseal(cursor, cursor_key(deps), _question(viewer)).get("after") if cursor else None
    if after is not None and not (isinstance(after, str) and 0 < len(after) <= _MOST_POSITION):
        raise ValidationFailed("分页游标无效", {"cursor": "not a cursor of this list"})
    return after


def _sealed(deps: Ports, viewer: Session, following: str | None) -> str | None:
    return (seal({"after": following}, cursor_key(deps), _question(viewer))
            if following is not None else None)


def people_page(deps: Ports, viewer: Session, cursor: str | None
                ) -> tuple[list[Person], str | None]:
    """The accounts ``viewer`` may see on the page ``cursor`` points to (None: the first), and
    the cursor of the next (None: the last page). A finance person: every account of their
    region (``scope``; "" every region). A unit's person: their unit's."""
    after = _after(deps, viewer, cursor)
    if viewer.role.is_finance:
        found, following = deps.people.page(region=viewer.scope, limit=PAGE, after=after)
    else:
        found, following = deps.people.page(viewer.unit_code,
                                            unit_region(deps, viewer.unit_code) or "",
                                            limit=PAGE, after=after)
    return found, _sealed(deps, viewer, following)


def unit_people_page(deps: Ports, viewer: Session, cursor: str | None
                     ) -> tuple[list[Person], str | None, frozenset[UnitAction]]:
    """A unit admin's page of their unit's people, its next cursor, and what the unit allows
    its operators (read at the same time as the page)."""
    after = _after(deps, viewer, cursor)
    unit_code = str(viewer.unit_code)
    region = unit_region(deps, unit_code) or ""
    (found, following), allowed = deps.gather(
        lambda: deps.people.page(unit_code, region, limit=UNIT_PAGE, after=after),
        lambda: deps.people.operator_actions(unit_code))
    return found, _sealed(deps, viewer, following), allowed
