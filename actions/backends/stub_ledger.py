"""The stub bank's loan book: loans, instalments, repayments and the transactions they leave.

Functions here run inside a transaction the caller opened (`stub.StubBankBackend`), take the time as an
argument and do the product maths through `product`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Row

from actions.backends import product
from actions.backends.base import (
    Fen,
    Instalment,
    InstalmentStatus,
    Loan,
    LoanStatus,
    Repayment,
    TransactionKind,
)
from actions.backends.clock import bank_date
from actions.backends.exceptions import InsufficientBalance, UnknownLoan
from actions.backends.stub_schema import (
    customers,
    from_db,
    instalments,
    loans,
    repayments,
    to_db,
    transactions,
)


def new_id(prefix: str) -> str:
    """A fresh random id such as ``loan-3f2a...``."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def loan_row(conn: Connection, customer_id: str, loan_id: str) -> Row[Any]:
    """The customer's loan row; raises UnknownLoan for another customer's loan too."""
    row = conn.execute(select(loans).where(loans.c.id == loan_id, loans.c.customer_id == customer_id)).first()
    if row is None:
        raise UnknownLoan()
    return row


def open_instalments(conn: Connection, loan_id: str) -> list[product.OpenInstalment]:
    """The loan's unpaid instalments in due-date order."""
    rows = conn.execute(
        select(instalments.c.number, instalments.c.due_date, instalments.c.principal_fen)
        .where(instalments.c.loan_id == loan_id, instalments.c.paid_on.is_(None))
        .order_by(instalments.c.number)
    ).all()
    return [product.OpenInstalment(row.number, row.due_date, row.principal_fen) for row in rows]


def schedule(conn: Connection, loan: Row[Any], today: date) -> list[Instalment]:
    """Every instalment of the loan: paid ones as paid, unpaid ones as owed today."""
    paid_rows = conn.execute(
        select(instalments)
        .where(instalments.c.loan_id == loan.id, instalments.c.paid_on.is_not(None))
        .order_by(instalments.c.number)
    ).all()
    paid = [
        Instalment(
            number=row.number,
            due_date=row.due_date,
            principal_fen=row.principal_fen,
            interest_fen=row.interest_fen,
            penalty_fen=row.penalty_fen,
            status=InstalmentStatus.PAID,
            paid_on=row.paid_on,
        )
        for row in paid_rows
    ]
    owed = product.owed_instalments(open_instalments(conn, loan.id), loan.interest_from, loan.daily_rate_pcm, today)
    return sorted(paid + owed, key=lambda item: item.number)


def loan_view(conn: Connection, loan: Row[Any], today: date) -> Loan:
    """The loan as the interface returns it, as of `today`."""
    unpaid = open_instalments(conn, loan.id)
    if not unpaid:
        status = LoanStatus.PAID_OFF
    elif unpaid[0].due_date < today:
        status = LoanStatus.OVERDUE
    else:
        status = LoanStatus.ACTIVE
    return Loan(
        id=loan.id,
        customer_id=loan.customer_id,
        principal_fen=loan.principal_fen,
        term=loan.term,
        daily_rate_pcm=loan.daily_rate_pcm,
        purpose=loan.purpose,
        loan_date=loan.loan_date,
        status=status,
        outstanding_principal_fen=sum(item.principal_fen for item in unpaid),
        next_due_date=unpaid[0].due_date if unpaid else None,
        disbursed_to_card_last4=loan.card_last4,
        created_at=from_db(loan.created_at),
    )


def customer_loans(conn: Connection, customer_id: str, include_paid_off: bool) -> list[Row[Any]]:
    """The customer's loan rows, newest first."""
    query = select(loans).where(loans.c.customer_id == customer_id)
    if not include_paid_off:
        query = query.where(loans.c.paid_off.is_(False))
    return list(conn.execute(query.order_by(loans.c.created_at.desc(), loans.c.id)).all())


def outstanding_principal(conn: Connection, customer_id: str) -> Fen:
    """Unpaid principal over all the customer's loans."""
    total = conn.execute(
        select(func.coalesce(func.sum(instalments.c.principal_fen), 0))
        .select_from(instalments.join(loans, loans.c.id == instalments.c.loan_id))
        .where(loans.c.customer_id == customer_id, instalments.c.paid_on.is_(None))
    ).scalar_one()
    return int(total)


def is_overdue(conn: Connection, customer_id: str, today: date) -> bool:
    """Whether any of the customer's instalments is past its due date and unpaid."""
    found = conn.execute(
        select(instalments.c.number)
        .select_from(instalments.join(loans, loans.c.id == instalments.c.loan_id))
        .where(
            loans.c.customer_id == customer_id,
            instalments.c.paid_on.is_(None),
            instalments.c.due_date < today,
        )
        .limit(1)
    ).first()
    return found is not None


def record_transaction(
    conn: Connection,
    customer_id: str,
    now: datetime,
    kind: TransactionKind,
    amount_fen: Fen,
    *,
    balance_after_fen: Fen | None,
    card_last4: str | None = None,
    memo: str = "",
) -> None:
    """Append one transaction to the customer's history."""
    conn.execute(
        transactions.insert().values(
            id=new_id("txn"),
            customer_id=customer_id,
            occurred_at=to_db(now),
            kind=kind.value,
            amount_fen=amount_fen,
            balance_after_fen=balance_after_fen,
            card_last4=card_last4,
            memo=memo,
        )
    )


def create_loan(
    conn: Connection,
    *,
    customer_id: str,
    amount_fen: Fen,
    term: int,
    daily_rate_pcm: int,
    purpose: str,
    card_last4: str,
    now: datetime,
    loan_id: str | None = None,
) -> Loan:
    """Write a loan made on `now`'s day with its schedule, and the disbursement to the card."""
    loan_date = bank_date(now)
    loan_id = loan_id or new_id("loan")
    conn.execute(
        loans.insert().values(
            id=loan_id,
            customer_id=customer_id,
            principal_fen=amount_fen,
            term=term,
            daily_rate_pcm=daily_rate_pcm,
            purpose=purpose,
            loan_date=loan_date,
            interest_from=loan_date,
            paid_off=False,
            card_last4=card_last4,
            created_at=to_db(now),
        )
    )
    plan = product.build_schedule(amount_fen, term, daily_rate_pcm, loan_date)
    conn.execute(
        instalments.insert(),
        [
            {"loan_id": loan_id, "number": item.number, "due_date": item.due_date, "principal_fen": item.principal_fen}
            for item in plan
        ],
    )
    record_transaction(
        conn,
        customer_id,
        now,
        TransactionKind.LOAN_DISBURSEMENT,
        amount_fen,
        balance_after_fen=None,
        card_last4=card_last4,
        memo=loan_id,
    )
    return loan_view(conn, loan_row(conn, customer_id, loan_id), loan_date)


def apply_plan(conn: Connection, loan: Row[Any], plan: product.RepaymentPlan, now: datetime) -> Repayment:
    """Debit the account balance and write a repayment plan to the loan.

    Raises:
        InsufficientBalance: The balance does not cover the plan; nothing is written.
    """
    balance = conn.execute(select(customers.c.balance_fen).where(customers.c.id == loan.customer_id)).scalar_one()
    if plan.total_fen > balance:
        raise InsufficientBalance(balance)
    new_balance = balance - plan.total_fen
    conn.execute(customers.update().where(customers.c.id == loan.customer_id).values(balance_fen=new_balance))
    today = bank_date(now)
    for paid in plan.paid:
        conn.execute(
            instalments.update()
            .where(instalments.c.loan_id == loan.id, instalments.c.number == paid.number)
            .values(
                principal_fen=paid.principal_fen,
                interest_fen=paid.interest_fen,
                penalty_fen=paid.penalty_fen,
                paid_on=today,
            )
        )
    for number, principal in plan.rescheduled:
        conn.execute(
            instalments.update()
            .where(instalments.c.loan_id == loan.id, instalments.c.number == number)
            .values(principal_fen=principal)
        )
    conn.execute(
        loans.update().where(loans.c.id == loan.id).values(interest_from=plan.interest_from, paid_off=plan.closes_loan)
    )
    after = loan_view(conn, loan_row(conn, loan.customer_id, loan.id), today)
    repayment = Repayment(
        id=new_id("rep"),
        loan_id=loan.id,
        customer_id=loan.customer_id,
        kind=plan.kind,
        amount_fen=plan.total_fen,
        principal_fen=plan.principal_fen,
        interest_fen=plan.interest_fen,
        penalty_fen=plan.penalty_fen,
        loan_status=after.status,
        outstanding_principal_fen=after.outstanding_principal_fen,
        paid_at=now,
    )
    conn.execute(
        repayments.insert().values(
            id=repayment.id,
            loan_id=repayment.loan_id,
            customer_id=repayment.customer_id,
            kind=repayment.kind.value,
            amount_fen=repayment.amount_fen,
            principal_fen=repayment.principal_fen,
            interest_fen=repayment.interest_fen,
            penalty_fen=repayment.penalty_fen,
            loan_status=repayment.loan_status.value,
            outstanding_principal_fen=repayment.outstanding_principal_fen,
            paid_at=to_db(now),
        )
    )
    record_transaction(
        conn,
        loan.customer_id,
        now,
        TransactionKind.LOAN_REPAYMENT,
        -plan.total_fen,
        balance_after_fen=new_balance,
        memo=loan.id,
    )
    return repayment
