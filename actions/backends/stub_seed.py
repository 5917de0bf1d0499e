"""The stub bank's demo customers, written on first start (ids are stable; dates follow the clock).

| id | who | credit | loans | cards | balance |
| --- | --- | --- | --- | --- | --- |
| ``cust-good`` | 张伟, good credit | 50,000 元, 0.03 %/day | ``loan-good-1`` 10,000 元, 10 期 | 2 | 12,888.00 元 |
| ``cust-new`` | 李娜, new customer | not assessed | none | 1 | 500.00 元 |
| ``cust-overdue`` | 王强, overdue | 20,000 元, 0.045 %/day | ``loan-overdue-1`` 5,000 元, 5 期 | 1 | 300.00 元 |
| ``cust-frozen`` | 赵敏, account frozen | 30,000 元, 0.025 %/day | none | 1 | 888.00 元 |
| ``cust-deaf`` | 陈静, deaf, prefers sign language | 100,000 元, 0.02 %/day | none | 1 | 34,567.00 元 |

Phones are 13800000001-13800000005 in that order. Every customer but ``cust-new`` has passed face
recognition. ``loan-good-1`` was made 40 days before the first start and its first instalment was repaid on its
due date; ``loan-overdue-1`` was made 45 days before, so its first instalment is about two weeks overdue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from actions.backends import product
from actions.backends.base import Fen, TransactionKind
from actions.backends.clock import BANK_TZ, bank_date
from actions.backends.stub_accounts import insert_card, luhn_ok
from actions.backends.stub_ledger import apply_plan, create_loan, loan_row, open_instalments, record_transaction
from actions.backends.stub_schema import customers, to_db


@dataclass(frozen=True)
class DemoLoan:
    """A loan a demo customer took `days_ago` days before the first start."""

    id: str
    amount_fen: Fen
    term: int
    purpose: str
    days_ago: int
    repay_first_instalment: bool


@dataclass(frozen=True)
class DemoCustomer:
    """One demo customer."""

    id: str
    name: str
    phone: str
    balance_fen: Fen
    card_prefixes: tuple[str, ...]  # 15-18 digits; a Luhn check digit is appended
    credit_limit_fen: Fen | None = None
    daily_rate_pcm: int | None = None
    frozen: bool = False
    face_checked: bool = True
    prefers_sign_language: bool = False
    hearing_impaired: bool = False
    loans: tuple[DemoLoan, ...] = field(default=())
    deposits: tuple[tuple[int, Fen, str], ...] = field(default=())  # (days ago, amount, memo)


DEMO_CUSTOMERS = (
    DemoCustomer(
        id="cust-good", name="张伟", phone="13800000001", balance_fen=1_288_800,
        card_prefixes=("622202123456789", "621700987654321"),
        credit_limit_fen=5_000_000, daily_rate_pcm=30,
        loans=(DemoLoan("loan-good-1", 1_000_000, 10, "装修", 40, repay_first_instalment=True),),
        deposits=((60, 1_500_000, "工资"), (30, 200_000, "转账")),
    ),
    DemoCustomer(
        id="cust-new", name="李娜", phone="13800000002", balance_fen=50_000,
        card_prefixes=("621483000011112",), face_checked=False,
        deposits=((3, 50_000, "转账"),),
    ),
    DemoCustomer(
        id="cust-overdue", name="王强", phone="13800000003", balance_fen=30_000,
        card_prefixes=("622848555566667",), credit_limit_fen=2_000_000, daily_rate_pcm=45,
        loans=(DemoLoan("loan-overdue-1", 500_000, 5, "消费", 45, repay_first_instalment=False),),
        deposits=((50, 30_000, "转账"),),
    ),
    DemoCustomer(
        id="cust-frozen", name="赵敏", phone="13800000004", balance_fen=88_800,
        card_prefixes=("621661222233334",), credit_limit_fen=3_000_000, daily_rate_pcm=25, frozen=True,
        deposits=((20, 88_800, "转账"),),
    ),
    DemoCustomer(
        id="cust-deaf", name="陈静", phone="13800000005", balance_fen=3_456_700,
        card_prefixes=("622202777788889",), credit_limit_fen=10_000_000, daily_rate_pcm=20,
        prefers_sign_language=True, hearing_impaired=True,
        deposits=((25, 3_000_000, "工资"), (10, 456_700, "转账")),
    ),
)  # fmt: skip


def with_check_digit(prefix: str) -> str:
    """Append the Luhn check digit that makes `prefix` a valid card number."""
    return next(prefix + digit for digit in "0123456789" if luhn_ok(prefix + digit))


def seed(engine: Engine, now: datetime) -> None:
    """Write every demo customer not in the database yet, each in its own transaction."""
    for demo in DEMO_CUSTOMERS:
        try:
            with engine.begin() as conn:
                if conn.execute(select(customers.c.id).where(customers.c.id == demo.id)).first() is None:
                    _write_customer(conn, demo, now)
        except IntegrityError:  # another process seeded the same customer at the same moment
            continue


def _at(now: datetime, days_ago: int) -> datetime:
    """10:00 Beijing time, `days_ago` days before `now`."""
    return datetime.combine(bank_date(now) - timedelta(days=days_ago), time(10), tzinfo=BANK_TZ)


def _write_customer(conn: Connection, demo: DemoCustomer, now: datetime) -> None:
    if demo.credit_limit_fen is not None:
        product.validate_credit(demo.credit_limit_fen, demo.daily_rate_pcm or 0)
    oldest = max([days for days, _, _ in demo.deposits] + [loan.days_ago for loan in demo.loans] + [0])
    since = _at(now, oldest + 1)
    conn.execute(
        customers.insert().values(
            id=demo.id,
            name=demo.name,
            phone=demo.phone,
            frozen=demo.frozen,
            credit_limit_fen=demo.credit_limit_fen,
            daily_rate_pcm=demo.daily_rate_pcm,
            prefers_sign_language=demo.prefers_sign_language,
            hearing_impaired=demo.hearing_impaired,
            face_checked_at=to_db(since) if demo.face_checked else None,
            balance_fen=0,
            otp_wrong_attempts=0,
            row_version=0,
        )
    )
    for index, prefix in enumerate(demo.card_prefixes, start=1):
        insert_card(conn, demo.id, with_check_digit(prefix), since, card_id=f"card-{demo.id[5:]}-{index}")
    events: list[tuple[datetime, int, DemoLoan | tuple[Fen, str], str]] = []
    for order, (days, amount, memo) in enumerate(demo.deposits):
        events.append((_at(now, days), order, (amount, memo), "deposit"))
    for order, loan in enumerate(demo.loans):
        made = _at(now, loan.days_ago)
        events.append((made, order, loan, "loan"))
        if loan.repay_first_instalment:  # the automatic debit runs early in the morning of the due date
            debit = datetime.combine(product.due_date(bank_date(made), 1), time(6), tzinfo=BANK_TZ)
            events.append((debit, order, loan, "repay"))
    for moment, _, item, event in sorted(events, key=lambda e: (e[0], e[1], e[3])):
        if isinstance(item, DemoLoan):
            _loan_event(conn, demo, item, moment, repay=event == "repay")
            continue
        amount, memo = item
        balance = _balance(conn, demo.id) + amount
        conn.execute(customers.update().where(customers.c.id == demo.id).values(balance_fen=balance))
        record_transaction(conn, demo.id, moment, TransactionKind.DEPOSIT, amount, balance_after_fen=balance, memo=memo)
    # Top up (or spend down) to the advertised balance with one last transaction yesterday.
    difference = demo.balance_fen - _balance(conn, demo.id)
    if difference:
        kind = TransactionKind.DEPOSIT if difference > 0 else TransactionKind.PAYMENT
        conn.execute(customers.update().where(customers.c.id == demo.id).values(balance_fen=demo.balance_fen))
        record_transaction(
            conn, demo.id, _at(now, 1), kind, difference, balance_after_fen=demo.balance_fen, memo="demo"
        )


def _balance(conn: Connection, customer_id: str) -> Fen:
    return int(conn.execute(select(customers.c.balance_fen).where(customers.c.id == customer_id)).scalar_one())


def _loan_event(conn: Connection, demo: DemoCustomer, loan: DemoLoan, moment: datetime, *, repay: bool) -> None:
    """Make the loan at `moment`, or repay its first instalment (on its due date)."""
    assert demo.daily_rate_pcm is not None
    if not repay:
        create_loan(
            conn,
            customer_id=demo.id,
            amount_fen=loan.amount_fen,
            term=loan.term,
            daily_rate_pcm=demo.daily_rate_pcm,
            purpose=loan.purpose,
            card_last4=with_check_digit(demo.card_prefixes[0])[-4:],
            now=moment,
            loan_id=loan.id,
        )
        return
    row = loan_row(conn, demo.id, loan.id)
    plan = product.plan_repayment(open_instalments(conn, loan.id), row.interest_from, row.daily_rate_pcm,
                                  bank_date(moment), None)  # fmt: skip
    apply_plan(conn, row, plan, moment)
