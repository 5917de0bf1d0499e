"""The bank backend interface the Rasa actions call, and the data it returns.

Two implementations exist: `stub.StubBankBackend` (a persistent SQLite/PostgreSQL stub with demo customers)
and `http_client.HttpBankBackend` (a real core-banking REST API). Build the configured one with
`actions.backends.get_backend()`.

Conventions:
    * Money is integer fen (`Fen`), never float. 1 元 = 100 fen.
    * The daily interest rate is an integer in pcm, per cent mille (1/100,000): 20 pcm = 0.02 % per day.
    * Dates (loan day, due dates) are Beijing calendar days; datetimes are timezone-aware.
    * Every method that shows or moves a customer's money or cards needs a fresh identity check
      (`verify_otp`, or `record_verification` for a check a trusted person did, e.g. a sign-language
      interpreter on video) and raises `NotVerified` otherwise. Only `get_customer`, `send_otp`,
      `verify_otp`, `record_verification`, `is_locked` and `face_check` work without one.
    * Writes take an `idempotency_key`: a retried call with the same key returns the first result; the same
      key with other parameters raises `IdempotencyConflict`.
    * Errors are the exceptions in `exceptions.py`; each has a stable `code` the actions map to a response.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args

Fen = int
"""An amount of money in fen (1/100 元)."""

RatePcm = int
"""A daily interest rate in pcm, per cent mille (1/100,000): 20 = 0.02 % per day."""

VerificationMethod = Literal["video"]
"""How a trusted person checked a customer's identity outside the SMS flow (`record_verification`):
``video``: an interpreter compared the customer on a sign-language video call with their ID."""

VERIFICATION_METHODS: tuple[str, ...] = get_args(VerificationMethod)
"""The `VerificationMethod` values, for checking input at run time."""


class CustomerStatus(str, enum.Enum):
    """Whether a customer may borrow and change cards."""

    NORMAL = "normal"
    FROZEN = "frozen"  # no loans, no card changes until a person unfreezes the account
    OVERDUE = "overdue"  # an instalment is past its due date; no new loans until repaid


class LoanStatus(str, enum.Enum):
    """Where a loan stands."""

    ACTIVE = "active"
    OVERDUE = "overdue"  # at least one instalment past its due date and unpaid
    PAID_OFF = "paid_off"


class InstalmentStatus(str, enum.Enum):
    """Where one instalment (期) stands."""

    PENDING = "pending"  # due date still ahead
    DUE = "due"  # due today, not yet paid
    OVERDUE = "overdue"  # due date passed, not paid; penalty interest accrues
    PAID = "paid"


class RepaymentKind(str, enum.Enum):
    """What a repayment did."""

    INSTALMENT = "instalment"  # paid what was due, or the next instalment ahead of time
    EARLY_PARTIAL = "early_partial"  # paid part of the principal early; later instalments shrink
    EARLY_FULL = "early_full"  # paid the loan off


class TransactionKind(str, enum.Enum):
    """What moved money on the customer's account or cards."""

    DEPOSIT = "deposit"
    PAYMENT = "payment"
    LOAN_DISBURSEMENT = "loan_disbursement"
    LOAN_REPAYMENT = "loan_repayment"


@dataclass(frozen=True)
class Customer:
    """A bank customer as the bot may see them.

    Attributes:
        id: The stable customer id.
        name: The customer's name.
        phone_masked: The mobile number with the middle digits hidden, e.g. ``138****0001``.
        verified: Whether the identity check (SMS code, or a recorded video check) is fresh enough for money
            and card questions.
        status: Normal, frozen or overdue.
        prefers_sign_language: Offer sign-language video service first.
        hearing_impaired: The customer told the bank they are deaf or hard of hearing.
        credit_assessed: Whether the bank has set a credit limit; a new customer has none yet.
        face_verified: Whether the customer passed face recognition in the app (needed to borrow).
    """

    id: str
    name: str
    phone_masked: str
    verified: bool
    status: CustomerStatus
    prefers_sign_language: bool
    hearing_impaired: bool
    credit_assessed: bool
    face_verified: bool


@dataclass(frozen=True)
class CreditLimit:
    """A customer's credit limit (授信额度) and price.

    Attributes:
        total_fen: The limit set by credit assessment.
        available_fen: The limit minus outstanding principal.
        max_loan_fen: The most one new loan may be: the available limit, at most 40,000 元; 0 when the
            customer cannot borrow the minimum.
        daily_rate_pcm: The daily rate in pcm (1/100,000).
    """

    total_fen: Fen
    available_fen: Fen
    max_loan_fen: Fen
    daily_rate_pcm: RatePcm

    @property
    def daily_rate_percent(self) -> Decimal:
        """The daily rate in percent, exact (20 pcm -> 0.02)."""
        return Decimal(self.daily_rate_pcm) / 1000

    @property
    def annual_rate_percent(self) -> Decimal:
        """The annual simple rate in percent, daily x 365, exact (20 pcm -> 7.3)."""
        return Decimal(self.daily_rate_pcm * 365) / 1000


@dataclass(frozen=True)
class Instalment:
    """One instalment (期) of a loan.

    For a paid instalment the amounts are what was paid; for an unpaid one they are what is owed as of
    today (the penalty grows each overdue day; interest of a future instalment may still fall if the
    customer repays early).

    Attributes:
        number: 1-based instalment number.
        due_date: The due date.
        principal_fen: Principal of this instalment.
        interest_fen: Interest of this instalment.
        penalty_fen: Penalty interest (罚息) for overdue days.
        status: Pending, due, overdue or paid.
        paid_on: The day it was paid, for a paid instalment.
    """

    number: int
    due_date: date
    principal_fen: Fen
    interest_fen: Fen
    penalty_fen: Fen
    status: InstalmentStatus
    paid_on: date | None = None

    @property
    def total_fen(self) -> Fen:
        """Principal + interest + penalty."""
        return self.principal_fen + self.interest_fen + self.penalty_fen


@dataclass(frozen=True)
class LoanQuote:
    """A preview of a loan before the customer confirms it.

    Attributes:
        amount_fen: The principal.
        term: Number of monthly instalments.
        daily_rate_pcm: The daily rate in pcm.
        instalments: The full schedule (all pending).
        total_interest_fen: Sum of the instalments' interest.
        total_repayment_fen: Principal + total interest.
        first_due_date: The first instalment's due date.
    """

    amount_fen: Fen
    term: int
    daily_rate_pcm: RatePcm
    instalments: tuple[Instalment, ...]
    total_interest_fen: Fen
    total_repayment_fen: Fen
    first_due_date: date


@dataclass(frozen=True)
class Loan:
    """A loan (借据).

    Attributes:
        id: The loan id.
        customer_id: Whose loan it is.
        principal_fen: The amount borrowed.
        term: Number of monthly instalments.
        daily_rate_pcm: The daily rate in pcm, fixed for the loan's life.
        purpose: What the customer said the money is for.
        loan_date: The day the loan was made.
        status: Active, overdue or paid off.
        outstanding_principal_fen: Principal not yet repaid.
        next_due_date: The earliest unpaid instalment's due date, None once paid off.
        disbursed_to_card_last4: Last 4 digits of the bound card the money went to.
        created_at: When the loan was made.
    """

    id: str
    customer_id: str
    principal_fen: Fen
    term: int
    daily_rate_pcm: RatePcm
    purpose: str
    loan_date: date
    status: LoanStatus
    outstanding_principal_fen: Fen
    next_due_date: date | None
    disbursed_to_card_last4: str
    created_at: datetime


@dataclass(frozen=True)
class Repayment:
    """A repayment that went through.

    Attributes:
        id: The repayment id.
        loan_id: The loan repaid.
        customer_id: Who paid.
        kind: Instalment, early partial or early full.
        amount_fen: Total paid (principal + interest + penalty), debited from the account balance.
        principal_fen: Principal part.
        interest_fen: Interest part.
        penalty_fen: Penalty interest part.
        loan_status: The loan's status after this repayment.
        outstanding_principal_fen: Principal still owed after this repayment.
        paid_at: When it was paid.
    """

    id: str
    loan_id: str
    customer_id: str
    kind: RepaymentKind
    amount_fen: Fen
    principal_fen: Fen
    interest_fen: Fen
    penalty_fen: Fen
    loan_status: LoanStatus
    outstanding_principal_fen: Fen
    paid_at: datetime


@dataclass(frozen=True)
class EarlyRepaymentQuote:
    """What paying a loan off on a given day costs (提前还款试算).

    Attributes:
        loan_id: The loan.
        on_date: The repayment day quoted.
        principal_fen: All principal still owed (overdue included).
        interest_fen: Interest of overdue instalments plus interest to `on_date` on the rest.
        penalty_fen: Penalty interest of overdue instalments up to `on_date`.
        total_fen: Principal + interest + penalty: the amount to pay.
        scheduled_total_fen: What the remaining schedule would cost if repaid as planned.
        interest_saved_fen: `scheduled_total_fen - total_fen`, never negative.
    """

    loan_id: str
    on_date: date
    principal_fen: Fen
    interest_fen: Fen
    penalty_fen: Fen
    total_fen: Fen
    scheduled_total_fen: Fen
    interest_saved_fen: Fen


@dataclass(frozen=True)
class Transaction:
    """One money movement, newest first in listings.

    Attributes:
        id: The transaction id.
        occurred_at: When it happened.
        kind: Deposit, payment, loan disbursement or loan repayment.
        amount_fen: Signed: positive is money in, negative money out.
        balance_after_fen: The account balance afterwards; None when it moved a card, not the account
            (a loan is disbursed to a bound card).
        card_last4: The card involved, if any.
        memo: A short note (counterparty, loan id), data not customer-facing wording.
    """

    id: str
    occurred_at: datetime
    kind: TransactionKind
    amount_fen: Fen
    balance_after_fen: Fen | None
    card_last4: str | None
    memo: str


@dataclass(frozen=True)
class Card:
    """A bound debit card (借记卡); full numbers are never returned.

    Attributes:
        id: The card id (pass it to `unbind_card`).
        bank_name: The issuing bank.
        card_last4: Last 4 digits.
        masked_number: e.g. ``6222 **** **** 1234``.
        is_default: Loans are disbursed to, and instalments debited from, the default card.
        bound_at: When it was bound.
    """

    id: str
    bank_name: str
    card_last4: str
    masked_number: str
    is_default: bool
    bound_at: datetime


@dataclass(frozen=True)
class OtpSent:
    """An SMS code was sent. The code itself never comes back through the interface.

    Attributes:
        phone_masked: Where it went.
        expires_at: When it stops working.
    """

    phone_masked: str
    expires_at: datetime


@dataclass(frozen=True)
class OtpVerified:
    """The code was right; money and card methods work until `verified_until`."""

    verified_until: datetime


@dataclass(frozen=True)
class OtpWrong:
    """The code was wrong; `attempts_left` more tries before the lock."""

    attempts_left: int


@dataclass(frozen=True)
class OtpLocked:
    """Too many wrong codes: verification is locked until `until`; hand the customer to a person."""

    until: datetime


@dataclass(frozen=True)
class OtpExpired:
    """No code is pending or it expired: send a new one. Does not count as a wrong attempt."""


OtpResult = OtpVerified | OtpWrong | OtpLocked | OtpExpired
"""What `verify_otp` returns; match on the class."""


@dataclass(frozen=True)
class FaceCheck:
    """The face-recognition state; the check itself happens in the app.

    Attributes:
        passed: Whether the customer passed face recognition.
        checked_at: When, if they did.
    """

    passed: bool
    checked_at: datetime | None


class BankBackend(abc.ABC):
    """The loan and account backend. All methods are coroutines; all may raise `BackendUnavailable`."""

    # -- customers and identity -------------------------------------------------------------------------

    @abc.abstractmethod
    async def get_customer(self, customer_id: str) -> Customer:
        """Return the customer. Raises UnknownCustomer."""

    @abc.abstractmethod
    async def send_otp(self, customer_id: str) -> OtpSent:
        """Send a fresh 6-digit SMS code (valid 5 minutes) to the customer's phone.

        Raises:
            UnknownCustomer: No such customer.
            IdentityLocked: Too many wrong codes recently.
        """

    @abc.abstractmethod
    async def verify_otp(self, customer_id: str, code: str) -> OtpResult:
        """Check an SMS code. 3 wrong codes lock verification for 30 minutes.

        Raises:
            UnknownCustomer: No such customer.
        """

    @abc.abstractmethod
    async def record_verification(
        self,
        customer_id: str,
        method: VerificationMethod,
        verified_by: str | None,
        idempotency_key: str,
        checked_at: datetime | None = None,
    ) -> datetime:
        """Record an identity check a trusted person did outside the SMS flow; return the new verified-until.

        Money and card methods then work as after a right SMS code, for the same time (`VERIFICATION_TTL`),
        counted from `checked_at` (default now; a moment ahead of the bank's clock counts as now). A longer
        verification already in force is kept. The bank keeps an audit record: method, who, when checked,
        when recorded. Only call this for a check the bank trusts, never on the customer's own word.

        Args:
            customer_id: Whose identity was checked.
            method: How (`VerificationMethod`).
            verified_by: Who checked (e.g. the interpreter's id), None when the caller does not know.
            idempotency_key: One key per check: a retry returns the first result and records nothing new,
                so one check can never be stretched by recording it again.
            checked_at: When the check was done.

        Raises:
            UnknownCustomer, IdentityLocked (a check by a person does not lift the SMS lock), NotVerified
            (the check is already older than `VERIFICATION_TTL`; nothing is recorded), IdempotencyConflict,
            ValueError (a method not in `VERIFICATION_METHODS`).
        """

    @abc.abstractmethod
    async def is_locked(self, customer_id: str) -> bool:
        """Whether identity verification is locked now. Raises UnknownCustomer."""

    @abc.abstractmethod
    async def face_check(self, customer_id: str) -> FaceCheck:
        """Return the face-recognition state (the check runs in the app). Raises UnknownCustomer."""

    # -- credit and loans ---------------------------------------------------------------------------------

    @abc.abstractmethod
    async def credit_limit(self, customer_id: str) -> CreditLimit:
        """Return the credit limit and rate.

        Raises:
            UnknownCustomer, NotVerified, CreditNotAssessed.
        """

    @abc.abstractmethod
    async def quote_loan(self, customer_id: str, amount_fen: Fen, term: int) -> LoanQuote:
        """Preview a loan made today, with the same checks as `apply_loan` (except face recognition).

        Raises:
            UnknownCustomer, NotVerified, AccountFrozen, CustomerOverdue, CreditNotAssessed, InvalidTerm,
            AmountBelowMinimum, AmountNotInSteps, AmountAboveLoanMaximum, AmountAboveAvailable.
        """

    @abc.abstractmethod
    async def apply_loan(
        self, customer_id: str, amount_fen: Fen, term: int, purpose: str, idempotency_key: str
    ) -> Loan:
        """Make a loan today and disburse it to the default bound card.

        Raises:
            The errors of `quote_loan`, and FaceCheckRequired, InvalidPurpose, NoCardBound,
            IdempotencyConflict.
        """

    @abc.abstractmethod
    async def list_loans(self, customer_id: str, include_paid_off: bool = False) -> list[Loan]:
        """Return the customer's loans, newest first. Raises UnknownCustomer, NotVerified."""

    @abc.abstractmethod
    async def repayment_schedule(self, customer_id: str, loan_id: str) -> list[Instalment]:
        """Return every instalment of a loan as of today. Raises UnknownCustomer, NotVerified, UnknownLoan."""

    @abc.abstractmethod
    async def repay(
        self, customer_id: str, loan_id: str, idempotency_key: str, amount_fen: Fen | None = None
    ) -> Repayment:
        """Repay from the account balance.

        With no amount: pay everything due (overdue instalments with penalty, and today's instalment);
        when nothing is due, pay the next instalment ahead of time (its principal plus interest to today).
        With an amount: it pays everything due first, then interest to today on the remaining principal,
        then principal early (the later instalments shrink evenly; paying it all closes the loan).

        Raises:
            UnknownCustomer, NotVerified, UnknownLoan, NothingToRepay, AmountBelowDue (the amount does not
            cover what is due, plus interest to date and 1 fen of principal when it goes beyond),
            AmountAboveOwed (more than paying the loan off costs: refused, never capped),
            InsufficientBalance, IdempotencyConflict.
        """

    @abc.abstractmethod
    async def early_repayment_quote(
        self, customer_id: str, loan_id: str, on_date: date | None = None
    ) -> EarlyRepaymentQuote:
        """Quote paying the loan off in full on `on_date` (default today; not in the past).

        Raises:
            UnknownCustomer, NotVerified, UnknownLoan, NothingToRepay, InvalidDate.
        """

    @abc.abstractmethod
    async def early_repay(
        self, customer_id: str, loan_id: str, idempotency_key: str, amount_fen: Fen | None = None
    ) -> Repayment:
        """Repay early from the account balance: in full with no amount, else like `repay` with an amount.

        Raises:
            The errors of `repay`.
        """

    # -- account and cards --------------------------------------------------------------------------------

    @abc.abstractmethod
    async def balance(self, customer_id: str) -> Fen:
        """Return the account balance. Raises UnknownCustomer, NotVerified."""

    @abc.abstractmethod
    async def transactions(self, customer_id: str, limit: int = 20, since: date | None = None) -> list[Transaction]:
        """Return up to `limit` transactions on or after `since`, newest first.

        Raises:
            UnknownCustomer, NotVerified.
        """

    @abc.abstractmethod
    async def cards(self, customer_id: str) -> list[Card]:
        """Return the bound cards, default first. Raises UnknownCustomer, NotVerified."""

    @abc.abstractmethod
    async def bind_card(self, customer_id: str, card_number: str, reserved_phone: str, idempotency_key: str) -> Card:
        """Bind a debit card in the customer's own name (the fresh SMS check stands for the SMS code).

        Raises:
            UnknownCustomer, NotVerified, AccountFrozen, InvalidCard (malformed number, credit card,
            reserved phone does not match), CardAlreadyBound, CardLimitReached, IdempotencyConflict.
        """

    @abc.abstractmethod
    async def unbind_card(self, customer_id: str, card_id: str, idempotency_key: str) -> None:
        """Unbind a card; the next card becomes the default.

        Raises:
            UnknownCustomer, NotVerified, AccountFrozen, UnknownCard, CardRequired (the last card while a
            loan is outstanding: instalments are debited from it), IdempotencyConflict.
        """

    async def aclose(self) -> None:
        """Release connections. Safe to call twice."""
        return None
