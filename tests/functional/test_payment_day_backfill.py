"""The payments' day index (``paid_day-payment_id-index``) and the back-fill of rows written
before it (``cli backfill-payment-days``): the day page, the weekly report and reconciliation
read a day's payments only through the index, so an undated row is missing from all three
until the command dates it."""

from __future__ import annotations

from chalicelib.adapters.dynamo_models import PaymentModel
from chalicelib.adapters.dynamo_payments import fill_paid_days
from chalicelib.cli import main
from chalicelib.domain.payments import PaymentOutcome
from tests.contracts.builders import note, order, payment
from tests.functional.support import counting_aws_calls

DAY, NEXT_DAY = "2026-06-15", "2026-06-16"


def old_row(n: int, channel: str = "wechatpay", day: str = DAY) -> str:
    """A payment as the code before the index wrote it: no ``paid_day``."""
    payment_id = f"{channel}#OLD{n}"
    PaymentModel(payment_id, payment_code=f"3401000010000{n:07d}", channel=channel,
                 channel_txn_id=f"OLD{n}", out_trade_no=f"OUT{n}", amount_fen=100 * n,
                 paid_at=f"{day}T09:{n:02d}:00+08:00", status="applied").save()
    return payment_id


def new_payment(world, n: int, channel: str = "alipay") -> str:
    """A payment of a new note recorded by today's write path (an order first, but for the
    agent bank's counter), ``n`` minutes after 10:00."""
    world.deps.notes.add(note(n))
    if channel != "bank":
        world.deps.notes.add_order(order(n, channel=channel))
    paid = payment(n, channel=channel, minutes=n)
    assert world.deps.payments.record(paid) == PaymentOutcome.RECORDED
    return paid.payment_id


def day_ids(world, day: str = DAY) -> list[str]:
    return [p.payment_id for p in world.deps.activity.payments(day)]


def test_the_write_path_dates_each_payment_so_the_day_finds_it_in_one_query(world, monkeypatch):
    bank = new_payment(world, 1, "bank")
    mine = new_payment(world, 2)
    assert PaymentModel.get(mine).paid_day == DAY
    with counting_aws_calls(monkeypatch) as calls:
        found = world.deps.activity.payments(DAY)
    assert [p.payment_id for p in found] == [bank, mine]  # every channel, oldest first
    assert calls.calls == ["dynamodb.Query"]
    assert [p.payment_id for p in world.deps.payments.of_day("alipay", DAY)] == [mine]
    assert [p.payment_id for p in world.deps.payments.of_day("bank", DAY)] == [bank]
    assert world.deps.payments.of_day("alipay", NEXT_DAY) == []


def test_payments_written_before_the_index_are_found_by_their_day_once_back_filled(
        world, capsys):
    old = [old_row(1), old_row(2, "unionpay"), old_row(3, day=NEXT_DAY), old_row(4)]
    mine = new_payment(world, 5)
    assert day_ids(world) == [mine]  # the undated rows: in no day
    assert world.deps.payments.of_day("wechatpay", DAY) == []

    assert main(["backfill-payment-days", "--page-size", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) >= 4 and out[0].startswith("page 1: ")  # five rows, two a page: 3 pages+
    assert out[-1] == "5 payments read, 4 without a day, 4 dated"
    assert day_ids(world) == [old[0], old[1], old[3], mine]
    assert day_ids(world, NEXT_DAY) == [old[2]]
    assert [p.payment_id for p in world.deps.payments.of_day("wechatpay", DAY)] == [
        old[0], old[3]]
    assert [(p.amount_fen, p.paid_at) for p in world.deps.payments.of_day("unionpay", DAY)] \
        == [(200, f"{DAY}T09:02:00+08:00")]


def test_a_second_run_dates_nothing_and_leaves_every_row_as_it_was(world, capsys):
    for n in range(1, 4):
        old_row(n)
    assert main(["backfill-payment-days"]) == 0
    before = {row.payment_id: row.attribute_values for row in PaymentModel.scan()}
    capsys.readouterr()
    assert main(["backfill-payment-days", "--page-size", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 payments read, 0 without a day, " \
                                                       "0 dated"
    assert {row.payment_id: row.attribute_values for row in PaymentModel.scan()} == before


def test_a_dated_row_keeps_its_day_and_a_run_resumes_after_the_id_a_page_printed(
        world, capsys):
    ids = sorted(old_row(n) for n in range(1, 6))
    PaymentModel(ids[0]).update(actions=[PaymentModel.paid_day.set(NEXT_DAY)])  # dated already
    first = fill_paid_days(page_size=2)  # a run stopped after its first page
    assert first.scanned == 2 and first.after is not None
    assert main(["backfill-payment-days", "--after", first.after]) == 0
    rest = capsys.readouterr().out.splitlines()[-1]
    assert rest == f"3 payments read, {4 - first.filled} without a day, {4 - first.filled} dated"
    assert PaymentModel.get(ids[0]).paid_day == NEXT_DAY
    assert sorted(day_ids(world)) == ids[1:]
    assert day_ids(world, NEXT_DAY) == ids[:1]


def test_a_page_size_outside_one_to_ten_thousand_is_refused_before_anything_is_read(
        world, capsys):
    old_row(1)
    assert main(["backfill-payment-days", "--page-size", "0"]) == 2
    assert "page size" in capsys.readouterr().err
    assert day_ids(world) == []
