"""People, their console sessions and units' console settings in DynamoDB (one table).

A unit's console settings are one more row (``unit#<unit_code>``): what its operators may do
by default (``operator_actions``) and, in the map ``person_actions``, the own set an operator
was given (``{username: "cancel,reverse"}``), so one read answers for any operator; an
operator's set changes by one conditional write on their entry alone. A person's row is created only if the username is free (conditional put). A failed sign-in is
one atomic ``ADD failures 1``; the write that reaches the limit is followed by a conditional
lock (``failures >= most``), so parallel failures cannot skip the lock. A TOTP step is accepted
by a conditional ``SET totp_step`` (``totp_step < step``): two sign-ins racing with one code,
only one wins. Sessions are keyed by the SHA-256 of their token (the token itself is never
stored) and expire by TTL at their absolute end; the service checks both clocks on every read,
because TTL deletes late. Each session row also names its person in ``session_of``, the key of
a sparse index (``session_of-index``, keys only), so ending a person's sessions when their
account changes is one query and one delete per session, never a scan. Person rows alone carry
the key of ``listing-place-index`` (``dynamo_models.PeopleByPlace``): a list of accounts is one
or two queries of it, whatever the sessions; ``page`` reads it a page at a time (``Limit`` and
the place of the last row as the position, at most ``_MOST_READS`` queries a page);
``fill_people_places`` gives rows written before it their place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import (
    DeleteError,
    DoesNotExist,
    PutError,
    TransactWriteError,
    UpdateError,
)
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import (
    FillPage,
    PeopleModel,
    is_conditional_failure,
    update_if,
)
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.people import (
    RECENT_SESSION_SECONDS,
    OperatorActions,
    Person,
    Role,
    Session,
    UnitAction,
    actions_of_text,
    actions_text,
    unit_actions,
)

_PERSON = "person#"
_SESSION = "session#"
_UNIT = "unit#"  # a unit's console settings
_LISTING = "person"  # the one partition of listing-place-index
_FINANCE = "~finance#"  # where finance people sort, after every region's unit people


_MOST_READS = 5  # queries one page of a list may make (a region's finance people are filtered)


def _parts(unit_code: str | None, region: str) -> list[tuple[str, str]]:
    """The stretches of ``listing-place-index`` a list reads, in order: (place prefix, the
    scope prefix a finance person must have; "" for none)."""
    if unit_code:
        return [(f"{region}#{unit_code}#", "")]
    if region:
        return [(region, ""), (_FINANCE, region)]
    return [("", "")]


def _listing_key(position: str | None) -> dict[str, dict[str, str]] | None:
    """DynamoDB's key of the row at ``position`` (a place) in ``listing-place-index``."""
    if position is None:
        return None
    return {"listing": {"S": _LISTING}, "place": {"S": position},
            "person_key": {"S": _PERSON + position.rsplit("#", 1)[-1]}}


def place(person: Person, region: str) -> str:
    """Where ``person`` sorts in ``listing-place-index`` (``region``: their unit's)."""
    if person.role.is_finance or not person.unit_code:
        return f"{_FINANCE}{person.username}"
    return f"{region}#{person.unit_code}#{person.username}"
_FIELDS = ("display_name", "password_hash", "totp_sealed", "totp_step", "failures",
           "locked_until", "role", "scope", "disabled", "totp_pending", "totp_pending_epoch")


def _person(row: PeopleModel) -> Person:
    return Person(username=row.username, role=Role(row.role), unit_code=row.unit_code,
                  display_name=row.display_name or row.username,
                  password_hash=row.password_hash or "", created_at=row.created_at or "",
                  totp_sealed=row.totp_sealed, totp_step=int(row.totp_step or 0),
                  failures=int(row.failures or 0), locked_until=int(row.locked_until or 0),
                  scope=row.scope or "", disabled=bool(row.disabled),
                  totp_pending=row.totp_pending,
                  totp_pending_epoch=int(row.totp_pending_epoch or 0),
                  generation=int(row.generation or 0),
                  recent_sessions={k: int(v) for k, v in (
                      row.recent_sessions.as_dict() if row.recent_sessions is not None
                      else {}).items()})


def _stored(name: str, value: Any) -> Any:
    """A field's value as the row keeps it (an enum as its text, a flag as 0/1)."""
    if isinstance(value, Role):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def _unit_row(unit_code: str) -> list[Any]:
    """The actions that make a unit's settings row exist (as its first write made it)."""
    return [PeopleModel.username.set(PeopleModel.username | "-"),
            PeopleModel.role.set(PeopleModel.role | "unit"),
            PeopleModel.unit_code.set(PeopleModel.unit_code | unit_code)]


@aws_boundary
class DynamoPeople:
    """PeopleStore."""

    def get(self, username: str) -> Person | None:
        try:
            return _person(PeopleModel.get(_PERSON + username, consistent_read=True))
        except DoesNotExist:
            return None

    def create(self, person: Person, region: str = "") -> None:
        row = PeopleModel(_PERSON + person.username, username=person.username,
                          listing=_LISTING, place=place(person, region),
                          role=person.role.value, unit_code=person.unit_code,
                          display_name=person.display_name, password_hash=person.password_hash,
                          created_at=person.created_at, totp_sealed=person.totp_sealed,
                          totp_step=0, failures=0, locked_until=0, scope=person.scope or None,
                          disabled=int(person.disabled))
        try:
            row.save(condition=PeopleModel.person_key.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                raise Conflict(f"用户名 {person.username} 已存在", code="person_exists") from None
            raise

    def update(self, username: str, changes: Mapping[str, Any]) -> Person:
        actions = []
        for name, value in changes.items():
            if name not in _FIELDS:
                raise ValueError(f"not a field a person's update may set: {name}")
            attribute = getattr(PeopleModel, name)
            actions.append(attribute.remove() if value is None
                           else attribute.set(_stored(name, value)))
        row = PeopleModel(_PERSON + username)
        try:
            row.update(actions=actions, condition=PeopleModel.person_key.exists())
        except UpdateError as exc:
            if is_conditional_failure(exc):
                raise NotFound("没有这个用户", code="person_not_found") from None
            raise
        return _person(row)

    def page(self, unit_code: str | None = None, region: str = "", limit: int = 100,
             after: str | None = None) -> tuple[list[Person], str | None]:
        found: list[Person] = []
        parts = _parts(unit_code, region)
        if after is not None and len(parts) == 2 and after.startswith(_FINANCE):
            parts = parts[1:]  # a region's unit people are behind: on with its finance people
        reads = 0
        for n, (prefix, scope) in enumerate(parts):
            start = after if after is not None and after.startswith(prefix) else None
            while True:
                reads += 1
                want = limit - len(found)
                rows = PeopleModel.by_place.query(
                    _LISTING, PeopleModel.place.startswith(prefix) if prefix else None,
                    filter_condition=PeopleModel.scope.startswith(scope) if scope else None,
                    limit=want, page_size=want, last_evaluated_key=_listing_key(start))
                read: dict[str, Any] = next(iter(rows.page_iter), {})
                items = read.get("Items", [])
                found += [_person(PeopleModel.from_raw_data(item)) for item in items]
                last = read.get("LastEvaluatedKey")
                start = last["place"]["S"] if last else None
                if len(found) >= limit:
                    final = start is None and n == len(parts) - 1
                    return found, None if final else items[-1]["place"]["S"]
                if start is None:
                    break
                if reads >= _MOST_READS:  # a region's finance people among others': go on later
                    return found, start
        return found, None

    def list(self, unit_code: str | None = None, region: str = "") -> list[Person]:
        index = PeopleModel.by_place
        if unit_code:
            rows = list(index.query(_LISTING, PeopleModel.place.startswith(
                f"{region}#{unit_code}#")))
        elif region:
            rows = [*index.query(_LISTING, PeopleModel.place.startswith(f"{region}")),
                    *index.query(_LISTING, PeopleModel.place.startswith(_FINANCE),
                                 filter_condition=PeopleModel.scope.startswith(region))]
        else:
            rows = list(index.query(_LISTING))
        return sorted((_person(r) for r in rows), key=lambda p: p.username)

    def record_failure(self, username: str, now_epoch: int, most: int,
                       lock_seconds: int) -> Person:
        row = PeopleModel(_PERSON + username)
        try:
            row.update(actions=[PeopleModel.failures.add(1)],
                       condition=PeopleModel.person_key.exists())
        except UpdateError as exc:
            if is_conditional_failure(exc):
                raise NotFound("没有这个用户", code="person_not_found") from None
            raise
        if int(row.failures) >= most:
            try:
                row.update(actions=[PeopleModel.failures.set(0),
                                    PeopleModel.locked_until.set(now_epoch + lock_seconds)],
                           condition=PeopleModel.failures >= most)
            except UpdateError as exc:  # a parallel failure locked it first
                if not is_conditional_failure(exc):
                    raise
                row = PeopleModel.get(_PERSON + username, consistent_read=True)
        return _person(row)

    def use_totp_step(self, username: str, step: int) -> bool:
        try:
            PeopleModel(_PERSON + username).update(
                actions=[PeopleModel.totp_step.set(step)],
                condition=PeopleModel.person_key.exists() & (PeopleModel.totp_step < step))
            return True
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise

    def operator_actions(self, unit_code: str) -> frozenset[UnitAction]:
        return self.operator_settings(unit_code).default

    def operator_settings(self, unit_code: str) -> OperatorActions:
        try:
            row = PeopleModel.get(_UNIT + unit_code, consistent_read=True)
        except DoesNotExist:
            return OperatorActions()
        if row.operator_actions is None:  # written before the set existed: cancel or nothing
            default = frozenset({UnitAction.CANCEL}) if row.may_cancel else frozenset()
        else:
            default = unit_actions(sorted(row.operator_actions))
        own = row.person_actions.as_dict() if row.person_actions is not None else {}
        return OperatorActions(default, {name: actions_of_text(str(text))
                                         for name, text in own.items()})

    def set_operator_actions(self, unit_code: str, actions: frozenset[UnitAction]) -> None:
        # DynamoDB has no empty set: "nothing" is the placeholder "-", never an action's name.
        # An update, not a put: the operators' own sets on the row stay.
        PeopleModel(_UNIT + unit_code).update(actions=[
            *_unit_row(unit_code),
            PeopleModel.may_cancel.set(int(UnitAction.CANCEL in actions)),
            PeopleModel.operator_actions.set({a.value for a in actions} or {"-"})])

    def set_person_actions(self, unit_code: str, username: str,
                           actions: frozenset[UnitAction] | None,
                           before: frozenset[UnitAction] | None) -> bool:
        row = PeopleModel(_UNIT + unit_code)
        row.update(actions=[*_unit_row(unit_code), PeopleModel.person_actions.set(
            PeopleModel.person_actions | {})])  # the map, for the entry's path to exist
        entry = PeopleModel.person_actions[username]
        still = (entry.does_not_exist() if before is None
                 else entry == actions_text(before))
        return update_if(row, [entry.remove() if actions is None
                               else entry.set(actions_text(actions))], still)

    def put_session(self, session: Session, person: Person | None = None) -> bool:
        row = PeopleModel(_SESSION + session.token_hash, username=session.username,
                          role=session.role.value, unit_code=session.unit_code,
                          scope=session.scope or None, session_of=session.username,
                          created_epoch=session.created_epoch, seen_epoch=session.seen_epoch,
                          client=session.client, expires_epoch=session.expires_epoch)
        if person is None:
            row.save()
            return True
        account = PeopleModel(_PERSON + person.username)
        if not person.recent_sessions:  # the map, for its entry's path to exist
            account.update(actions=[PeopleModel.recent_sessions.set(
                PeopleModel.recent_sessions | {})], condition=PeopleModel.person_key.exists())
        same = (PeopleModel.generation.does_not_exist() if person.generation == 0
                else PeopleModel.generation == person.generation)
        recent = PeopleModel.recent_sessions
        stale = [recent[h].remove() for h, began in person.recent_sessions.items()
                 if session.created_epoch - began > RECENT_SESSION_SECONDS]
        try:
            with TransactWrite(connection=PeopleModel._get_connection().connection) as tx:
                tx.update(account, actions=[recent[session.token_hash].set(
                    session.created_epoch), *stale], condition=same)
                tx.save(row)
        except TransactWriteError as exc:
            if not exc.cancellation_reasons:
                raise
            return False
        return True

    def session(self, token_hash: str) -> Session | None:
        try:
            row = PeopleModel.get(_SESSION + token_hash, consistent_read=True)
        except DoesNotExist:
            return None
        return Session(token_hash=token_hash, username=row.username, role=Role(row.role),
                       unit_code=row.unit_code, created_epoch=int(row.created_epoch),
                       seen_epoch=int(row.seen_epoch), client=row.client or "",
                       scope=row.scope or "")

    def sessions_of(self, username: str) -> Sequence[str]:
        return sorted(row.person_key[len(_SESSION):]
                      for row in PeopleModel.by_person.query(username))

    def end_sessions(self, username: str, keep: str | None = None) -> int:
        recent: set[str] = set()
        try:  # one write: the generation moves on, and the sessions begun lately are taken
            old = PeopleModel._get_connection().update_item(
                _PERSON + username, actions=[
                    PeopleModel.generation.set((PeopleModel.generation | 0) + 1),
                    PeopleModel.recent_sessions.remove()],
                condition=PeopleModel.person_key.exists(), return_values=ALL_OLD)
            recent = set(old.get("Attributes", {}).get("recent_sessions", {}).get("M", {}))
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise
        indexed = set(self.sessions_of(username))
        ended = 0
        for token_hash in sorted(indexed | recent):
            if token_hash == keep:
                continue
            if token_hash in indexed:
                self.end_session(token_hash)
                ended += 1
            else:  # named on the account's row, maybe signed out since: counted if there
                try:
                    PeopleModel(_SESSION + token_hash).delete(
                        condition=PeopleModel.person_key.exists())
                    ended += 1
                except DeleteError as exc:
                    if not is_conditional_failure(exc):
                        raise
        return ended

    def touch_session(self, token_hash: str, seen_epoch: int) -> None:
        try:
            PeopleModel(_SESSION + token_hash).update(
                actions=[PeopleModel.seen_epoch.set(seen_epoch)],
                condition=PeopleModel.person_key.exists())
        except UpdateError as exc:  # signed out meanwhile: nothing to touch
            if not is_conditional_failure(exc):
                raise

    def end_session(self, token_hash: str) -> None:
        PeopleModel(_SESSION + token_hash).delete()


def fill_people_places(page_size: int = 500, after: str | None = None) -> FillPage:
    """Back-fill of ``listing-place-index`` on person rows written before it: one Scan page
    (``page_size`` rows read after the key ``after``) returning only the person rows without a
    place, then one conditional update each (the unit's region read from the units table).
    Idempotent and resumable as ``dynamo_payments.fill_paid_days``."""
    from chalicelib.adapters.dynamo_models import UnitModel

    start = {"person_key": {"S": after}} if after else None
    rows = PeopleModel.scan(filter_condition=PeopleModel.person_key.startswith(_PERSON)
                            & PeopleModel.place.does_not_exist(), page_size=page_size,
                            last_evaluated_key=start)
    page = next(rows.page_iter)
    regions: dict[str, str] = {}
    placed = 0
    items = page.get("Items", [])
    for item in items:
        person = _person(PeopleModel.from_raw_data(item))
        code = person.unit_code or ""
        if code and code not in regions and not person.role.is_finance:
            try:
                regions[code] = UnitModel.get(code).region_code or ""
            except DoesNotExist:
                regions[code] = ""
        placed += update_if(
            PeopleModel(_PERSON + person.username),
            [PeopleModel.listing.set(_LISTING),
             PeopleModel.place.set(place(person, regions.get(code, "")))],
            PeopleModel.person_key.exists() & PeopleModel.place.does_not_exist())
    last = rows.page_iter.last_evaluated_key
    return FillPage(scanned=int(page.get("ScannedCount", 0)), missing=len(items), filled=placed,
                    after=last["person_key"]["S"] if last else None)
