"""Errors of the bank backends.

Every error has a stable string ``code`` (the actions map it to an ``utter_`` response; the HTTP API sends
it in ``{"error": {"code": ..., "details": {...}}}``), an HTTP ``status`` and a customer-safe ``meaning``
(what the customer may be told; never internal detail). Its data attributes are its ``details``.

    BankError
    ├── UnknownCustomer               unknown_customer          404
    ├── UnknownLoan                   unknown_loan              404
    ├── UnknownCard                   unknown_card              404
    ├── IdentityError
    │   ├── NotVerified               not_verified              401
    │   ├── IdentityLocked(until)     identity_locked           423
    │   └── FaceCheckRequired         face_check_required       403
    ├── AccountRestricted
    │   ├── AccountFrozen             account_frozen            403
    │   └── CustomerOverdue           customer_overdue          403
    ├── CreditNotAssessed             credit_not_assessed       409
    ├── LoanRequestInvalid
    │   ├── InvalidTerm(terms)        invalid_term              422
    │   ├── InvalidPurpose            invalid_purpose           422
    │   ├── AmountBelowMinimum(minimum_fen)        amount_below_minimum       422
    │   ├── AmountNotInSteps(step_fen)             amount_not_in_steps        422
    │   ├── AmountAboveLoanMaximum(maximum_fen)    amount_above_loan_maximum  422
    │   └── AmountAboveAvailable(available_fen)    amount_above_available     422
    ├── RepaymentInvalid
    │   ├── NothingToRepay            nothing_to_repay          409
    │   ├── AmountBelowDue(minimum_fen)            amount_below_due           422
    │   ├── AmountAboveOwed(owed_fen)              amount_above_owed          422
    │   ├── InsufficientBalance(balance_fen)       insufficient_balance       409
    │   └── InvalidDate               invalid_date              422
    ├── CardError
    │   ├── InvalidCard(reason)       invalid_card              422
    │   ├── CardAlreadyBound          card_already_bound        409
    │   ├── CardLimitReached(limit)   card_limit_reached        409
    │   ├── CardRequired              card_required             409
    │   └── NoCardBound               no_card_bound             409
    ├── IdempotencyConflict           idempotency_conflict      409
    └── BackendUnavailable(reason)    backend_unavailable       503
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar


class BankError(Exception):
    """Base of all bank backend errors."""

    code: ClassVar[str] = "bank_error"
    status: ClassVar[int] = 400
    meaning: ClassVar[str] = "The bank could not do that."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.meaning)

    def details(self) -> dict[str, Any]:
        """The error's data as JSON-able values (see `from_payload`)."""
        return {}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> BankError:
        """Rebuild the error from `details()` output."""
        return cls()


class UnknownCustomer(BankError):
    code = "unknown_customer"
    status = 404
    meaning = "No such customer."


class UnknownLoan(BankError):
    code = "unknown_loan"
    status = 404
    meaning = "No such loan for this customer."


class UnknownCard(BankError):
    code = "unknown_card"
    status = 404
    meaning = "No such bound card for this customer."


class IdentityError(BankError):
    """The customer's identity is not established well enough."""

    code = "identity_error"
    status = 403


class NotVerified(IdentityError):
    code = "not_verified"
    status = 401
    meaning = "Identity must be verified with an SMS code first."


class IdentityLocked(IdentityError):
    """Too many wrong SMS codes; verification is locked until `until`."""

    code = "identity_locked"
    status = 423
    meaning = "Verification is locked after too many wrong codes; a person will help."

    def __init__(self, until: datetime) -> None:
        super().__init__(f"{self.meaning} Locked until {until.isoformat()}.")
        self.until = until

    def details(self) -> dict[str, Any]:
        return {"until": self.until.isoformat()}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> BankError:
        return cls(datetime.fromisoformat(details["until"]))


class FaceCheckRequired(IdentityError):
    code = "face_check_required"
    status = 403
    meaning = "Borrowing needs face recognition in the app first."


class AccountRestricted(BankError):
    """The account's status forbids the operation."""

    code = "account_restricted"
    status = 403


class AccountFrozen(AccountRestricted):
    code = "account_frozen"
    meaning = "The account is frozen: no loans or card changes until a person unfreezes it."


class CustomerOverdue(AccountRestricted):
    code = "customer_overdue"
    meaning = "An instalment is overdue: no new loan until it is repaid."


class CreditNotAssessed(BankError):
    code = "credit_not_assessed"
    status = 409
    meaning = "The bank has not set a credit limit for this customer yet."


class LoanRequestInvalid(BankError):
    """The loan's amount, term or purpose breaks a product rule."""

    code = "loan_request_invalid"
    status = 422


class InvalidTerm(LoanRequestInvalid):
    """The term is not one of `terms`."""

    code = "invalid_term"
    meaning = "Loans have 5, 10 or 20 monthly instalments."

    def __init__(self, terms: tuple[int, ...]) -> None:
        super().__init__(f"{self.meaning} Allowed: {terms}.")
        self.terms = tuple(terms)

    def details(self) -> dict[str, Any]:
        return {"terms": list(self.terms)}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> BankError:
        return cls(tuple(int(t) for t in details["terms"]))


class InvalidPurpose(LoanRequestInvalid):
    code = "invalid_purpose"
    meaning = "The loan purpose is missing or too long."


class _AmountError(LoanRequestInvalid):
    """An amount error carrying one amount in fen, named by `field`."""

    field: ClassVar[str] = "amount_fen"

    def __init__(self, amount_fen: int) -> None:
        super().__init__(f"{self.meaning} ({self.field}={amount_fen})")
        setattr(self, self.field, amount_fen)

    def details(self) -> dict[str, Any]:
        return {self.field: getattr(self, self.field)}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> BankError:
        return cls(int(details[cls.field]))


class AmountBelowMinimum(_AmountError):
    code = "amount_below_minimum"
    field = "minimum_fen"
    meaning = "The smallest loan is 500 元."
    minimum_fen: int


class AmountNotInSteps(_AmountError):
    code = "amount_not_in_steps"
    field = "step_fen"
    meaning = "Loan amounts are whole hundreds of 元."
    step_fen: int


class AmountAboveLoanMaximum(_AmountError):
    code = "amount_above_loan_maximum"
    field = "maximum_fen"
    meaning = "One loan can be at most 40,000 元."
    maximum_fen: int


class AmountAboveAvailable(_AmountError):
    code = "amount_above_available"
    field = "available_fen"
    meaning = "The amount is more than the available credit limit."
    available_fen: int


class RepaymentInvalid(BankError):
    """A repayment cannot be made as asked."""

    code = "repayment_invalid"
    status = 422


class NothingToRepay(RepaymentInvalid):
    code = "nothing_to_repay"
    status = 409
    meaning = "The loan is already paid off."


class _RepaymentAmountError(RepaymentInvalid):
    field: ClassVar[str] = "amount_fen"

    def __init__(self, amount_fen: int) -> None:
        super().__init__(f"{self.meaning} ({self.field}={amount_fen})")
        setattr(self, self.field, amount_fen)

    def details(self) -> dict[str, Any]:
        return {self.field: getattr(self, self.field)}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> BankError:
        return cls(int(details[cls.field]))


class AmountBelowDue(_RepaymentAmountError):
    code = "amount_below_due"
    field = "minimum_fen"
    meaning = "The amount does not cover what is due now."
    minimum_fen: int


class AmountAboveOwed(_RepaymentAmountError):
    code = "amount_above_owed"
    field = "owed_fen"
    meaning = "The amount is more than the loan still costs to pay off."
    owed_fen: int


class InsufficientBalance(_RepaymentAmountError):
    code = "insufficient_balance"
    status = 409
    field = "balance_fen"
    meaning = "The account balance is not enough for this repayment."
    balance_fen: int


class InvalidDate(RepaymentInvalid):
    code = "invalid_date"
    meaning = "The date must be today or later."


class CardError(BankError):
    """A card cannot be bound or unbound."""

    code = "card_error"
    status = 409


class InvalidCard(CardError):
    """The card cannot be bound; `reason` is one of `REASONS`."""

    code = "invalid_card"
    status = 422
    meaning = "This card cannot be bound: it must be your own debit card with its reserved phone number."
    REASONS: ClassVar[tuple[str, ...]] = ("malformed", "credit_card", "reserved_phone_mismatch")

    def __init__(self, reason: str) -> None:
        super().__init__(f"{self.meaning} ({reason})")
        self.reason = reason

    def details(self) -> dict[str, Any]:
        return {"reason": self.reason}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> BankError:
        return cls(str(details["reason"]))


class CardAlreadyBound(CardError):
    code = "card_already_bound"
    meaning = "This card is already bound."


class CardLimitReached(CardError):
    """Already `limit` cards bound."""

    code = "card_limit_reached"
    meaning = "At most 5 cards can be bound."

    def __init__(self, limit: int) -> None:
        super().__init__(f"{self.meaning} (limit={limit})")
        self.limit = limit

    def details(self) -> dict[str, Any]:
        return {"limit": self.limit}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> BankError:
        return cls(int(details["limit"]))


class CardRequired(CardError):
    code = "card_required"
    meaning = "The last card cannot be unbound while a loan is outstanding."


class NoCardBound(CardError):
    code = "no_card_bound"
    meaning = "A debit card must be bound to receive the loan."


class IdempotencyConflict(BankError):
    code = "idempotency_conflict"
    status = 409
    meaning = "This request was already made with different details."


class BackendUnavailable(BankError):
    """The bank system did not answer (timeouts, 5xx, retries exhausted) or answered nonsense."""

    code = "backend_unavailable"
    status = 503
    meaning = "The bank system is busy; please try again later."

    def __init__(self, reason: str = "") -> None:
        super().__init__(f"{self.meaning} {reason}".strip())
        self.reason = reason

    def details(self) -> dict[str, Any]:
        return {"reason": self.reason}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> BankError:
        return cls(str(details.get("reason", "")))


def _concrete_errors() -> dict[str, type[BankError]]:
    found: dict[str, type[BankError]] = {}
    pending: list[type[BankError]] = [BankError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__name__.startswith("_"):
            found[cls.code] = cls
    return found


ERRORS_BY_CODE: dict[str, type[BankError]] = _concrete_errors()
"""Every error class by its code."""


def to_payload(error: BankError) -> dict[str, Any]:
    """The JSON body the HTTP API sends for an error."""
    return {"error": {"code": error.code, "message": error.meaning, "details": error.details()}}


def from_payload(payload: Any) -> BankError | None:
    """Rebuild an error from an HTTP error body; None if the body is not a known error."""
    try:
        error = payload["error"]
        cls = ERRORS_BY_CODE[error["code"]]
        return cls.from_details(dict(error.get("details") or {}))
    except (KeyError, TypeError, ValueError):
        return None
