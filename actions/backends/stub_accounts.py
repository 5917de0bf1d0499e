"""The stub bank's customers, identity checks (SMS codes, checks by a trusted person, face check) and cards.

Functions here run inside a transaction the caller opened (`stub.StubBankBackend`) and take the time as an
argument. SMS codes are stored only as a salted hash; the stub hands the plain code to its caller so the
debug accessor and the fake-SMS log can show it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Row

from actions.backends import product
from actions.backends.base import (
    VERIFICATION_METHODS,
    Card,
    CreditLimit,
    Customer,
    CustomerStatus,
    OtpExpired,
    OtpLocked,
    OtpResult,
    OtpSent,
    OtpVerified,
    OtpWrong,
)
from actions.backends.clock import bank_date
from actions.backends.exceptions import (
    AccountFrozen,
    CardAlreadyBound,
    CardLimitReached,
    CardRequired,
    CreditNotAssessed,
    IdentityLocked,
    InvalidCard,
    NotVerified,
    UnknownCard,
    UnknownCustomer,
)
from actions.backends.stub_ledger import is_overdue, new_id, outstanding_principal
from actions.backends.stub_schema import (
    cards,
    customers,
    from_db,
    from_db_optional,
    identity_verifications,
    to_db,
)

# Demo issuer table: the first 4 digits of a card number -> bank. The real API knows every BIN.
BANKS_BY_PREFIX = {"6222": "工商银行", "6217": "建设银行", "6228": "农业银行", "6214": "招商银行", "6216": "中国银行"}
OTHER_BANK = "其他银行"
# Demo rule: UnionPay debit cards start with 62; Visa (4), Mastercard (5) and Amex/JCB (3) numbers are taken
# as credit cards, which product.md refuses.
CREDIT_CARD_PREFIXES = ("3", "4", "5")
VERIFIED_BY_MAX_CHARS = 64  # the audit column's width; ids of people are far shorter


def customer_row(conn: Connection, customer_id: str) -> Row[Any]:
    """The customer's row; raises UnknownCustomer."""
    row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
    if row is None:
        raise UnknownCustomer()
    return row


def mask_phone(phone: str) -> str:
    """``13800000001`` -> ``138****0001``."""
    return f"{phone[:3]}****{phone[-4:]}"


def is_verified(row: Row[Any], now: datetime) -> bool:
    """Whether a fresh identity check covers `now` (and verification is not locked)."""
    locked = row.locked_until is not None and from_db(row.locked_until) > now
    return not locked and row.verified_until is not None and from_db(row.verified_until) > now


def require_verified(row: Row[Any], now: datetime) -> None:
    """Raise NotVerified unless a fresh identity check covers `now`."""
    if not is_verified(row, now):
        raise NotVerified()


def require_not_frozen(row: Row[Any]) -> None:
    """Raise AccountFrozen for a frozen account."""
    if row.frozen:
        raise AccountFrozen()


def customer_view(conn: Connection, row: Row[Any], now: datetime) -> Customer:
    """The customer as the interface returns them."""
    if row.frozen:
        status = CustomerStatus.FROZEN
    elif is_overdue(conn, row.id, bank_date(now)):
        status = CustomerStatus.OVERDUE
    else:
        status = CustomerStatus.NORMAL
    return Customer(
        id=row.id,
        name=row.name,
        phone_masked=mask_phone(row.phone),
        verified=is_verified(row, now),
        status=status,
        prefers_sign_language=row.prefers_sign_language,
        hearing_impaired=row.hearing_impaired,
        credit_assessed=row.credit_limit_fen is not None,
        face_verified=row.face_checked_at is not None,
    )


def credit_view(conn: Connection, row: Row[Any]) -> CreditLimit:
    """The customer's credit limit; raises CreditNotAssessed for a customer without one."""
    if row.credit_limit_fen is None or row.daily_rate_pcm is None:
        raise CreditNotAssessed()
    available = max(row.credit_limit_fen - outstanding_principal(conn, row.id), 0)
    return CreditLimit(
        total_fen=row.credit_limit_fen,
        available_fen=available,
        max_loan_fen=product.max_loan_fen(available),
        daily_rate_pcm=row.daily_rate_pcm,
    )


# -- SMS codes ---------------------------------------------------------------------------------------------------


def _hash_code(customer_id: str, code: str) -> str:
    return hashlib.sha256(f"{customer_id}:{code}".encode()).hexdigest()


def send_otp(conn: Connection, row: Row[Any], now: datetime) -> tuple[OtpSent, str]:
    """Store a fresh code (replacing any pending one); return what the caller may see, and the code.

    Raises:
        IdentityLocked: Verification is locked.
    """
    if row.locked_until is not None and from_db(row.locked_until) > now:
        raise IdentityLocked(from_db(row.locked_until))
    code = f"{secrets.randbelow(10**product.OTP_DIGITS):0{product.OTP_DIGITS}d}"
    expires_at = now + product.OTP_TTL
    conn.execute(
        customers.update()
        .where(customers.c.id == row.id)
        .values(otp_hash=_hash_code(row.id, code), otp_expires_at=to_db(expires_at))
    )
    return OtpSent(phone_masked=mask_phone(row.phone), expires_at=expires_at), code


def verify_otp(conn: Connection, row: Row[Any], code: str, now: datetime) -> OtpResult:
    """Check a code; count wrong ones; lock after the third. Wrong attempts reset only on success or lock."""
    if row.locked_until is not None and from_db(row.locked_until) > now:
        return OtpLocked(from_db(row.locked_until))
    if row.otp_hash is None or row.otp_expires_at is None or from_db(row.otp_expires_at) <= now:
        return OtpExpired()
    update = customers.update().where(customers.c.id == row.id)
    if hmac.compare_digest(row.otp_hash, _hash_code(row.id, code.strip())):
        until = now + product.VERIFICATION_TTL
        conn.execute(
            update.values(verified_until=to_db(until), otp_hash=None, otp_expires_at=None, otp_wrong_attempts=0)
        )
        return OtpVerified(until)
    wrong = row.otp_wrong_attempts + 1
    if wrong >= product.OTP_MAX_WRONG_ATTEMPTS:
        until = now + product.OTP_LOCK
        conn.execute(
            update.values(
                locked_until=to_db(until),
                otp_wrong_attempts=0,
                otp_hash=None,
                otp_expires_at=None,
                verified_until=None,
            )
        )
        return OtpLocked(until)
    conn.execute(update.values(otp_wrong_attempts=wrong))
    return OtpWrong(product.OTP_MAX_WRONG_ATTEMPTS - wrong)


# -- checks by a trusted person -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityVerification:
    """One audit record of an identity check done outside the SMS flow (stub only: for tests and demos).

    Attributes:
        method: How the customer was checked (``video``).
        verified_by: Who checked them, if the caller said.
        checked_at: When the check was done.
        recorded_at: When the bank was told.
        verified_until: The customer's verified-until the check set.
    """

    method: str
    verified_by: str | None
    checked_at: datetime
    recorded_at: datetime
    verified_until: datetime


def record_verification(
    conn: Connection, row: Row[Any], method: str, verified_by: str | None, checked_at: datetime, now: datetime
) -> datetime:
    """Count a trusted person's check like a right SMS code from `checked_at`; write the audit record.

    Raises:
        IdentityLocked: Verification is locked (a person's check does not lift the SMS lock).
        NotVerified: The check is already older than `product.VERIFICATION_TTL`.
        ValueError: An unknown method or an over-long `verified_by`.
    """
    if method not in VERIFICATION_METHODS:
        raise ValueError(f"unknown verification method {method!r}; expected one of {VERIFICATION_METHODS}")
    if verified_by is not None and len(verified_by) > VERIFIED_BY_MAX_CHARS:
        raise ValueError(f"verified_by is longer than {VERIFIED_BY_MAX_CHARS} characters")
    if row.locked_until is not None and from_db(row.locked_until) > now:
        raise IdentityLocked(from_db(row.locked_until))
    checked_at = min(checked_at, now)  # a caller's clock running ahead must not buy extra time
    until = checked_at + product.VERIFICATION_TTL
    if until <= now:
        raise NotVerified()
    if row.verified_until is not None:
        until = max(until, from_db(row.verified_until))
    conn.execute(customers.update().where(customers.c.id == row.id).values(verified_until=to_db(until)))
    conn.execute(
        identity_verifications.insert().values(
            customer_id=row.id,
            method=method,
            verified_by=verified_by,
            checked_at=to_db(checked_at),
            recorded_at=to_db(now),
            verified_until=to_db(until),
        )
    )
    return until


def verification_history(conn: Connection, customer_id: str) -> list[IdentityVerification]:
    """The customer's audit records of checks by a trusted person, oldest first."""
    rows = conn.execute(
        select(identity_verifications)
        .where(identity_verifications.c.customer_id == customer_id)
        .order_by(identity_verifications.c.seq)
    ).all()
    return [
        IdentityVerification(
            method=row.method,
            verified_by=row.verified_by,
            checked_at=from_db(row.checked_at),
            recorded_at=from_db(row.recorded_at),
            verified_until=from_db(row.verified_until),
        )
        for row in rows
    ]


# -- cards -------------------------------------------------------------------------------------------------------


def _card_view(row: Row[Any]) -> Card:
    return Card(
        id=row.id,
        bank_name=row.bank_name,
        card_last4=row.card_last4,
        masked_number=row.masked_number,
        is_default=row.is_default,
        bound_at=from_db(row.bound_at),
    )


def list_cards(conn: Connection, customer_id: str) -> list[Card]:
    """The customer's bound cards, default first, then in binding order."""
    rows = conn.execute(
        select(cards)
        .where(cards.c.customer_id == customer_id)
        .order_by(cards.c.is_default.desc(), cards.c.bound_at, cards.c.id)
    ).all()
    return [_card_view(row) for row in rows]


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check every bank card number carries."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def clean_card_number(card_number: str) -> str:
    """The card number's digits; raises InvalidCard('malformed' or 'credit_card')."""
    digits = "".join(card_number.split()).replace("-", "")
    if not digits.isascii() or not digits.isdigit() or not 16 <= len(digits) <= 19 or not luhn_ok(digits):
        raise InvalidCard("malformed")
    if digits.startswith(CREDIT_CARD_PREFIXES):
        raise InvalidCard("credit_card")
    return digits


def _phone_digits(phone: str) -> str:
    digits = "".join(char for char in phone if char.isdigit())
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def bind_card(conn: Connection, row: Row[Any], card_number: str, reserved_phone: str, now: datetime) -> Card:
    """Bind a debit card; the first card becomes the default.

    Raises:
        AccountFrozen, InvalidCard, CardAlreadyBound, CardLimitReached.
    """
    require_not_frozen(row)
    digits = clean_card_number(card_number)
    if _phone_digits(reserved_phone) != row.phone:
        raise InvalidCard("reserved_phone_mismatch")
    return insert_card(conn, row.id, digits, now)


def insert_card(conn: Connection, customer_id: str, digits: str, now: datetime, card_id: str | None = None) -> Card:
    """Write a card row (checks duplicates and the limit); used by binding and by the demo seed."""
    number_hash = hashlib.sha256(digits.encode()).hexdigest()
    existing = conn.execute(
        select(cards.c.id).where(cards.c.customer_id == customer_id, cards.c.number_hash == number_hash)
    ).first()
    if existing is not None:
        raise CardAlreadyBound()
    count = conn.execute(select(func.count()).select_from(cards).where(cards.c.customer_id == customer_id)).scalar_one()
    if count >= product.MAX_CARDS:
        raise CardLimitReached(product.MAX_CARDS)
    card_id = card_id or new_id("card")
    conn.execute(
        cards.insert().values(
            id=card_id,
            customer_id=customer_id,
            bank_name=BANKS_BY_PREFIX.get(digits[:4], OTHER_BANK),
            card_last4=digits[-4:],
            masked_number=f"{digits[:4]} **** **** {digits[-4:]}",
            number_hash=number_hash,
            is_default=count == 0,
            bound_at=to_db(now),
        )
    )
    return _card_view(conn.execute(select(cards).where(cards.c.id == card_id)).one())


def unbind_card(conn: Connection, row: Row[Any], card_id: str) -> None:
    """Unbind a card; the earliest remaining card becomes the default if the default went.

    Raises:
        AccountFrozen, UnknownCard, CardRequired.
    """
    require_not_frozen(row)
    card = conn.execute(select(cards).where(cards.c.id == card_id, cards.c.customer_id == row.id)).first()
    if card is None:
        raise UnknownCard()
    remaining = [c for c in list_cards(conn, row.id) if c.id != card_id]
    if not remaining and outstanding_principal(conn, row.id) > 0:
        raise CardRequired()
    conn.execute(cards.delete().where(cards.c.id == card_id))
    if card.is_default and remaining:
        conn.execute(cards.update().where(cards.c.id == remaining[0].id).values(is_default=True))


def default_card(conn: Connection, customer_id: str) -> Card | None:
    """The card loans go to, if any."""
    found = list_cards(conn, customer_id)
    return found[0] if found else None


def face_checked_at(row: Row[Any]) -> datetime | None:
    """When the customer passed face recognition, if they did."""
    return from_db_optional(row.face_checked_at)
