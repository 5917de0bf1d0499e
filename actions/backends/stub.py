"""The persistent stub bank: SQLite by default, PostgreSQL when the URL says so, demo customers seeded.

Design choices:
    * Async over sync: each method runs its synchronous SQLAlchemy work in a worker thread
      (`asyncio.to_thread`), so a slow disk or database never blocks the action server's event loop.
    * Tables are created and the demo customers (`stub_seed`) written on first use, not in ``__init__``,
      so building the backend costs nothing and never blocks. The database must be a file or a server:
      an in-memory SQLite database is refused.
    * One customer's writes run one at a time (`stub_store.Store.write` takes the customer's row lock
      first). Balances cannot go negative (checked, and a CHECK constraint).
    * Idempotency: a write with a key stores its first successful result under the key (primary key, so a
      second insert cannot happen); a retry returns that stored result, the same key with other parameters
      raises IdempotencyConflict. A failed write stores nothing, so a retry after fixing the cause works.
    * Repaying more than the loan costs is refused (AmountAboveOwed), never capped: the customer is told the
      exact amount instead of being charged something other than what they asked.
    * No automatic debit runs: an instalment not repaid by its due date becomes overdue.
    * SMS codes are not sent anywhere: the stub logs them (logger ``kefu.bank.stub.sms``) and keeps the last
      one per customer for `debug_last_otp`; the bot never sees them.
    * A check by a trusted person (`record_verification`, the interpreter's video check) counts like a right
      SMS code for the same 30 minutes from when it was done, is audited in ``bank_identity_verifications``
      (method, who, when) and, keyed like every write, is recorded once however often it is retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection

from actions.backends import product, stub_accounts, stub_ledger
from actions.backends.base import (
    BankBackend,
    Card,
    CreditLimit,
    Customer,
    EarlyRepaymentQuote,
    FaceCheck,
    Fen,
    Instalment,
    Loan,
    LoanQuote,
    OtpResult,
    OtpSent,
    Repayment,
    Transaction,
    TransactionKind,
    VerificationMethod,
)
from actions.backends.clock import BANK_TZ, Clock, SystemClock, bank_date
from actions.backends.exceptions import (
    CustomerOverdue,
    FaceCheckRequired,
    InvalidDate,
    NoCardBound,
)
from actions.backends.stub_schema import customers, from_db, to_db, transactions
from actions.backends.stub_store import Store

T = TypeVar("T")
SMS_LOG = logging.getLogger("kefu.bank.stub.sms")
MAX_TRANSACTIONS = 200  # the most `transactions` returns at once; a chat shows a handful


class StubBankBackend(BankBackend):
    """The bank backend on a local database, with demo customers.

    Args:
        database_url: SQLAlchemy URL, e.g. ``sqlite:///var/bank.db`` or
            ``postgresql://postgres@127.0.0.1:5432/test``.
        clock: Where the time comes from (default: the system clock, Beijing time).
        seed_demo: Write the demo customers on first use.
    """

    def __init__(self, database_url: str, clock: Clock | None = None, *, seed_demo: bool = True) -> None:
        self.clock: Clock = clock or SystemClock()
        self._store = Store(database_url, self.clock, seed_demo=seed_demo)
        self._last_codes: dict[str, str] = {}

    async def _thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(function, *args, **kwargs)

    # -- customers and identity -----------------------------------------------------------------------------

    async def get_customer(self, customer_id: str) -> Customer:
        def work(conn: Connection, now: datetime) -> Customer:
            return stub_accounts.customer_view(conn, stub_accounts.customer_row(conn, customer_id), now)

        return await self._thread(self._store.read, work)

    async def send_otp(self, customer_id: str) -> OtpSent:
        def work(conn: Connection, now: datetime) -> OtpSent:
            sent, code = stub_accounts.send_otp(conn, stub_accounts.customer_row(conn, customer_id), now)
            self._last_codes[customer_id] = code
            SMS_LOG.info("stub SMS to %s: verification code %s", sent.phone_masked, code)
            return sent

        return await self._thread(self._store.write, customer_id, work)

    async def verify_otp(self, customer_id: str, code: str) -> OtpResult:
        def work(conn: Connection, now: datetime) -> OtpResult:
            return stub_accounts.verify_otp(conn, stub_accounts.customer_row(conn, customer_id), code, now)

        return await self._thread(self._store.write, customer_id, work)

    async def record_verification(
        self,
        customer_id: str,
        method: VerificationMethod,
        verified_by: str | None,
        idempotency_key: str,
        checked_at: datetime | None = None,
    ) -> datetime:
        def work(conn: Connection, now: datetime) -> datetime:
            row = stub_accounts.customer_row(conn, customer_id)
            return stub_accounts.record_verification(conn, row, method, verified_by, checked_at or now, now)

        params = {
            "method": method,
            "verified_by": verified_by,
            "checked_at": to_db(checked_at).isoformat() if checked_at else None,  # to_db refuses a naive time
        }
        return await self._thread(
            self._store.write, customer_id, work, key=idempotency_key, operation="record_verification",
            params=params, result_kind=datetime,
        )  # fmt: skip

    async def is_locked(self, customer_id: str) -> bool:
        def work(conn: Connection, now: datetime) -> bool:
            row = stub_accounts.customer_row(conn, customer_id)
            return row.locked_until is not None and from_db(row.locked_until) > now

        return await self._thread(self._store.read, work)

    async def face_check(self, customer_id: str) -> FaceCheck:
        def work(conn: Connection, now: datetime) -> FaceCheck:
            checked_at = stub_accounts.face_checked_at(stub_accounts.customer_row(conn, customer_id))
            return FaceCheck(passed=checked_at is not None, checked_at=checked_at)

        return await self._thread(self._store.read, work)

    # -- credit and loans -----------------------------------------------------------------------------------

    def _verified_row(self, conn: Connection, customer_id: str, now: datetime) -> Any:
        row = stub_accounts.customer_row(conn, customer_id)
        stub_accounts.require_verified(row, now)
        return row

    def _check_loan(self, conn: Connection, row: Any, now: datetime, amount_fen: Fen, term: int) -> CreditLimit:
        """The checks `quote_loan` and `apply_loan` share, in the order the customer should hear them."""
        stub_accounts.require_not_frozen(row)
        if stub_ledger.is_overdue(conn, row.id, bank_date(now)):
            raise CustomerOverdue()
        credit = stub_accounts.credit_view(conn, row)
        product.validate_term(term)
        product.validate_loan_amount(amount_fen, credit.available_fen)
        return credit

    async def credit_limit(self, customer_id: str) -> CreditLimit:
        def work(conn: Connection, now: datetime) -> CreditLimit:
            return stub_accounts.credit_view(conn, self._verified_row(conn, customer_id, now))

        return await self._thread(self._store.read, work)

    async def quote_loan(self, customer_id: str, amount_fen: Fen, term: int) -> LoanQuote:
        def work(conn: Connection, now: datetime) -> LoanQuote:
            credit = self._check_loan(conn, self._verified_row(conn, customer_id, now), now, amount_fen, term)
            schedule = product.build_schedule(amount_fen, term, credit.daily_rate_pcm, bank_date(now))
            interest = sum(item.interest_fen for item in schedule)
            return LoanQuote(
                amount_fen=amount_fen,
                term=term,
                daily_rate_pcm=credit.daily_rate_pcm,
                instalments=tuple(schedule),
                total_interest_fen=interest,
                total_repayment_fen=amount_fen + interest,
                first_due_date=schedule[0].due_date,
            )

        return await self._thread(self._store.read, work)

    async def apply_loan(
        self, customer_id: str, amount_fen: Fen, term: int, purpose: str, idempotency_key: str
    ) -> Loan:
        def work(conn: Connection, now: datetime) -> Loan:
            row = self._verified_row(conn, customer_id, now)
            credit = self._check_loan(conn, row, now, amount_fen, term)
            if row.face_checked_at is None:
                raise FaceCheckRequired()
            cleaned = product.validate_purpose(purpose)
            card = stub_accounts.default_card(conn, customer_id)
            if card is None:
                raise NoCardBound()
            return stub_ledger.create_loan(
                conn,
                customer_id=customer_id,
                amount_fen=amount_fen,
                term=term,
                daily_rate_pcm=credit.daily_rate_pcm,
                purpose=cleaned,
                card_last4=card.card_last4,
                now=now,
            )

        params = {"amount_fen": amount_fen, "term": term, "purpose": purpose}
        return await self._thread(
            self._store.write, customer_id, work, key=idempotency_key, operation="apply_loan", params=params,
            result_kind=Loan,
        )  # fmt: skip

    async def list_loans(self, customer_id: str, include_paid_off: bool = False) -> list[Loan]:
        def work(conn: Connection, now: datetime) -> list[Loan]:
            self._verified_row(conn, customer_id, now)
            rows = stub_ledger.customer_loans(conn, customer_id, include_paid_off)
            return [stub_ledger.loan_view(conn, row, bank_date(now)) for row in rows]

        return await self._thread(self._store.read, work)

    async def repayment_schedule(self, customer_id: str, loan_id: str) -> list[Instalment]:
        def work(conn: Connection, now: datetime) -> list[Instalment]:
            self._verified_row(conn, customer_id, now)
            loan = stub_ledger.loan_row(conn, customer_id, loan_id)
            return stub_ledger.schedule(conn, loan, bank_date(now))

        return await self._thread(self._store.read, work)

    def _repay(self, customer_id: str, loan_id: str, amount_fen: Fen | None, full: bool) -> Callable[..., Repayment]:
        def work(conn: Connection, now: datetime) -> Repayment:
            self._verified_row(conn, customer_id, now)
            loan = stub_ledger.loan_row(conn, customer_id, loan_id)
            unpaid = stub_ledger.open_instalments(conn, loan_id)
            plan = product.plan_repayment(
                unpaid, loan.interest_from, loan.daily_rate_pcm, bank_date(now), amount_fen, full_when_no_amount=full
            )
            return stub_ledger.apply_plan(conn, loan, plan, now)

        return work

    async def repay(
        self, customer_id: str, loan_id: str, idempotency_key: str, amount_fen: Fen | None = None
    ) -> Repayment:
        work = self._repay(customer_id, loan_id, amount_fen, full=False)
        params = {"loan_id": loan_id, "amount_fen": amount_fen}
        return await self._thread(
            self._store.write, customer_id, work, key=idempotency_key, operation="repay", params=params,
            result_kind=Repayment,
        )  # fmt: skip

    async def early_repayment_quote(
        self, customer_id: str, loan_id: str, on_date: date | None = None
    ) -> EarlyRepaymentQuote:
        def work(conn: Connection, now: datetime) -> EarlyRepaymentQuote:
            self._verified_row(conn, customer_id, now)
            day = on_date or bank_date(now)
            if day < bank_date(now):
                raise InvalidDate()
            loan = stub_ledger.loan_row(conn, customer_id, loan_id)
            unpaid = stub_ledger.open_instalments(conn, loan_id)
            plan = product.payoff_quote(unpaid, loan.interest_from, loan.daily_rate_pcm, day)
            owed = product.owed_instalments(unpaid, loan.interest_from, loan.daily_rate_pcm, day)
            scheduled = sum(item.total_fen for item in owed)
            return EarlyRepaymentQuote(
                loan_id=loan_id,
                on_date=day,
                principal_fen=plan.principal_fen,
                interest_fen=plan.interest_fen,
                penalty_fen=plan.penalty_fen,
                total_fen=plan.total_fen,
                scheduled_total_fen=scheduled,
                interest_saved_fen=max(scheduled - plan.total_fen, 0),
            )

        return await self._thread(self._store.read, work)

    async def early_repay(
        self, customer_id: str, loan_id: str, idempotency_key: str, amount_fen: Fen | None = None
    ) -> Repayment:
        work = self._repay(customer_id, loan_id, amount_fen, full=True)
        params = {"loan_id": loan_id, "amount_fen": amount_fen}
        return await self._thread(
            self._store.write, customer_id, work, key=idempotency_key, operation="early_repay", params=params,
            result_kind=Repayment,
        )  # fmt: skip

    # -- account and cards ----------------------------------------------------------------------------------

    async def balance(self, customer_id: str) -> Fen:
        def work(conn: Connection, now: datetime) -> Fen:
            return int(self._verified_row(conn, customer_id, now).balance_fen)

        return await self._thread(self._store.read, work)

    async def transactions(self, customer_id: str, limit: int = 20, since: date | None = None) -> list[Transaction]:
        def work(conn: Connection, now: datetime) -> list[Transaction]:
            self._verified_row(conn, customer_id, now)
            query = select(transactions).where(transactions.c.customer_id == customer_id)
            if since is not None:
                start = datetime.combine(since, datetime.min.time(), tzinfo=BANK_TZ)
                query = query.where(transactions.c.occurred_at >= to_db(start))
            query = query.order_by(transactions.c.occurred_at.desc(), transactions.c.seq.desc())
            rows = conn.execute(query.limit(max(0, min(limit, MAX_TRANSACTIONS)))).all()
            return [
                Transaction(
                    id=row.id,
                    occurred_at=from_db(row.occurred_at),
                    kind=TransactionKind(row.kind),
                    amount_fen=row.amount_fen,
                    balance_after_fen=row.balance_after_fen,
                    card_last4=row.card_last4,
                    memo=row.memo,
                )
                for row in rows
            ]

        return await self._thread(self._store.read, work)

    async def cards(self, customer_id: str) -> list[Card]:
        def work(conn: Connection, now: datetime) -> list[Card]:
            self._verified_row(conn, customer_id, now)
            return stub_accounts.list_cards(conn, customer_id)

        return await self._thread(self._store.read, work)

    async def bind_card(self, customer_id: str, card_number: str, reserved_phone: str, idempotency_key: str) -> Card:
        def work(conn: Connection, now: datetime) -> Card:
            row = self._verified_row(conn, customer_id, now)
            return stub_accounts.bind_card(conn, row, card_number, reserved_phone, now)

        digits = "".join(ch for ch in card_number if ch.isdigit())
        params = {"card_number_hash": hashlib.sha256(digits.encode()).hexdigest(), "reserved_phone": reserved_phone}
        return await self._thread(
            self._store.write, customer_id, work, key=idempotency_key, operation="bind_card", params=params,
            result_kind=Card,
        )  # fmt: skip

    async def unbind_card(self, customer_id: str, card_id: str, idempotency_key: str) -> None:
        def work(conn: Connection, now: datetime) -> None:
            stub_accounts.unbind_card(conn, self._verified_row(conn, customer_id, now), card_id)

        await self._thread(
            self._store.write, customer_id, work, key=idempotency_key, operation="unbind_card",
            params={"card_id": card_id}, result_kind=type(None),
        )  # fmt: skip

    async def aclose(self) -> None:
        await self._thread(self._store.dispose)

    # -- debug accessors: for tests and demos, never called by the bot ------------------------------------------

    def debug_last_otp(self, customer_id: str) -> str | None:
        """The last SMS code this process sent to the customer, if any."""
        return self._last_codes.get(customer_id)

    def _debug_update(self, customer_id: str, **values: Any) -> None:
        def work(conn: Connection, now: datetime) -> None:
            conn.execute(customers.update().where(customers.c.id == customer_id).values(**values))

        self._store.write(customer_id, work)

    async def debug_mark_verified(self, customer_id: str) -> None:
        """Skip the SMS dance: verify the customer as if they had entered the right code now."""
        until = self.clock.now() + product.VERIFICATION_TTL
        await self._thread(self._debug_update, customer_id, verified_until=to_db(until))

    async def debug_verifications(self, customer_id: str) -> list[stub_accounts.IdentityVerification]:
        """The audit records of checks by a trusted person (`record_verification`), oldest first."""

        def work(conn: Connection, now: datetime) -> list[stub_accounts.IdentityVerification]:
            return stub_accounts.verification_history(conn, customer_id)

        return await self._thread(self._store.read, work)

    async def debug_set_face_check(self, customer_id: str, passed: bool) -> None:
        """Record (or forget) a passed face recognition."""
        await self._thread(self._debug_update, customer_id, face_checked_at=to_db(self.clock.now()) if passed else None)

    async def debug_set_frozen(self, customer_id: str, frozen: bool) -> None:
        """Freeze or unfreeze the account, as a person would."""
        await self._thread(self._debug_update, customer_id, frozen=frozen)

    async def debug_deposit(self, customer_id: str, amount_fen: Fen) -> Fen:
        """Put money on the account (a transfer in); returns the new balance."""

        def work(conn: Connection, now: datetime) -> Fen:
            row = stub_accounts.customer_row(conn, customer_id)
            balance = int(row.balance_fen) + amount_fen
            conn.execute(customers.update().where(customers.c.id == customer_id).values(balance_fen=balance))
            stub_ledger.record_transaction(
                conn, customer_id, now, TransactionKind.DEPOSIT, amount_fen, balance_after_fen=balance, memo="debug"
            )
            return balance

        return await self._thread(self._store.write, customer_id, work)
