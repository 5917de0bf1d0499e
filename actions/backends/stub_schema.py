"""The stub bank's tables (SQLAlchemy Core), and how datetimes are stored.

Datetimes are stored naive in UTC (SQLite keeps no offset) and come back aware in Beijing time. Money
columns are 64-bit integers of fen; a CHECK keeps the account balance from going negative even if a bug
slips past the service code.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from actions.backends.clock import BANK_TZ

metadata = MetaData()

customers = Table(
    "bank_customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("frozen", Boolean, nullable=False, default=False),
    Column("credit_limit_fen", BigInteger),  # NULL: credit not assessed yet
    Column("daily_rate_pcm", Integer),
    Column("prefers_sign_language", Boolean, nullable=False, default=False),
    Column("hearing_impaired", Boolean, nullable=False, default=False),
    Column("face_checked_at", DateTime),
    Column("balance_fen", BigInteger, nullable=False, default=0),
    Column("verified_until", DateTime),
    Column("otp_hash", String(64)),
    Column("otp_expires_at", DateTime),
    Column("otp_wrong_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime),
    # Bumped by every write transaction first: the UPDATE takes the row lock (PostgreSQL) or the database
    # write lock (SQLite), so one customer's writes run one at a time.
    Column("row_version", Integer, nullable=False, default=0),
    CheckConstraint("balance_fen >= 0", name="ck_bank_customers_balance_non_negative"),
)

cards = Table(
    "bank_cards",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("customer_id", String(64), ForeignKey("bank_customers.id"), nullable=False, index=True),
    Column("bank_name", String(64), nullable=False),
    Column("card_last4", String(4), nullable=False),
    Column("masked_number", String(32), nullable=False),
    Column("number_hash", String(64), nullable=False),  # full numbers are never stored
    Column("is_default", Boolean, nullable=False, default=False),
    Column("bound_at", DateTime, nullable=False),
    UniqueConstraint("customer_id", "number_hash", name="uq_bank_cards_customer_number"),
)

loans = Table(
    "bank_loans",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("customer_id", String(64), ForeignKey("bank_customers.id"), nullable=False, index=True),
    Column("principal_fen", BigInteger, nullable=False),
    Column("term", Integer, nullable=False),
    Column("daily_rate_pcm", Integer, nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("loan_date", Date, nullable=False),
    Column("interest_from", Date, nullable=False),  # interest on unpaid principal is settled up to here
    Column("paid_off", Boolean, nullable=False, default=False),
    Column("card_last4", String(4), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

instalments = Table(
    "bank_instalments",
    metadata,
    Column("loan_id", String(64), ForeignKey("bank_loans.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("due_date", Date, nullable=False),
    Column("principal_fen", BigInteger, nullable=False),  # scheduled while unpaid, paid once paid
    Column("interest_fen", BigInteger),  # set when paid
    Column("penalty_fen", BigInteger),  # set when paid
    Column("paid_on", Date),  # NULL: unpaid
    CheckConstraint("principal_fen >= 0", name="ck_bank_instalments_principal_non_negative"),
)

repayments = Table(
    "bank_repayments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("loan_id", String(64), ForeignKey("bank_loans.id"), nullable=False, index=True),
    Column("customer_id", String(64), ForeignKey("bank_customers.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("principal_fen", BigInteger, nullable=False),
    Column("interest_fen", BigInteger, nullable=False),
    Column("penalty_fen", BigInteger, nullable=False),
    Column("loan_status", String(16), nullable=False),
    Column("outstanding_principal_fen", BigInteger, nullable=False),
    Column("paid_at", DateTime, nullable=False),
)

transactions = Table(
    "bank_transactions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # insertion order breaks time ties
    Column("id", String(64), nullable=False, unique=True),
    Column("customer_id", String(64), ForeignKey("bank_customers.id"), nullable=False, index=True),
    Column("occurred_at", DateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("balance_after_fen", BigInteger),
    Column("card_last4", String(4)),
    Column("memo", String(128), nullable=False, default=""),
)

identity_verifications = Table(
    "bank_identity_verifications",
    metadata,
    # The audit trail of identity checks done outside the SMS flow (`record_verification`), one row per check.
    Column("seq", Integer, primary_key=True, autoincrement=True),  # insertion order
    Column("customer_id", String(64), ForeignKey("bank_customers.id"), nullable=False, index=True),
    Column("method", String(16), nullable=False),  # base.VerificationMethod, e.g. "video"
    Column("verified_by", String(64)),  # who checked (e.g. the interpreter's id); NULL if the caller did not say
    Column("checked_at", DateTime, nullable=False),  # when the check was done
    Column("recorded_at", DateTime, nullable=False),  # when the bank was told
    Column("verified_until", DateTime, nullable=False),  # what the check made the customer's verified-until
)

idempotency_keys = Table(
    "bank_idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),  # the unique constraint that stops a second write
    Column("customer_id", String(64), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),  # the first result, as wire JSON
    Column("created_at", DateTime, nullable=False),
)


def to_db(moment: datetime) -> datetime:
    """An aware datetime as the naive UTC value the tables store."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the backends only handle timezone-aware times")
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def from_db(stored: datetime) -> datetime:
    """A stored naive UTC datetime as an aware Beijing time."""
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=timezone.utc)
    return stored.astimezone(BANK_TZ)


def from_db_optional(stored: datetime | None) -> datetime | None:
    """`from_db` that passes None through."""
    return None if stored is None else from_db(stored)
