"""JSON encoding of the data classes (actions/backends/wire.py)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from actions.backends import product, wire
from actions.backends.base import (
    Card,
    Customer,
    CustomerStatus,
    LoanQuote,
    OtpExpired,
    OtpLocked,
    OtpResult,
    OtpVerified,
    OtpWrong,
    Transaction,
    TransactionKind,
)
from actions.backends.clock import BANK_TZ

NOW = datetime(2025, 3, 15, 10, 0, tzinfo=BANK_TZ)


def test_wire_customer_round_trip_keeps_chinese_unescaped() -> None:
    customer = Customer("cust-deaf", "陈静", "138****0005", False, CustomerStatus.NORMAL, True, True, True, True)
    text = wire.dumps(customer)
    assert "陈静" in text and '"status":"normal"' in text
    assert wire.loads(Customer, text) == customer


def test_wire_quote_with_nested_instalments_round_trips() -> None:
    schedule = tuple(product.build_schedule(1_000_000, 5, 30, date(2025, 3, 15)))
    quote = LoanQuote(1_000_000, 5, 30, schedule, 1, 1_000_001, schedule[0].due_date)
    assert wire.loads(LoanQuote, wire.dumps(quote)) == quote


def test_wire_list_and_optional_fields_round_trip() -> None:
    items = [
        Transaction("txn-1", NOW, TransactionKind.LOAN_DISBURSEMENT, 50_000, None, "1234", "loan-1"),
        Card("card-1", "工商银行", "1234", "6222 **** **** 1234", True, NOW),
    ]
    assert wire.loads(list[Transaction], wire.dumps(items[:1])) == items[:1]
    assert wire.loads(Card, wire.dumps(items[1])) == items[1]


@pytest.mark.parametrize(
    "result",
    [OtpVerified(NOW), OtpWrong(2), OtpLocked(NOW), OtpExpired()],
    ids=["verified", "wrong", "locked", "expired"],
)
def test_wire_otp_result_round_trips_by_tag(result: OtpResult) -> None:
    assert wire.decode_otp_result(json.loads(json.dumps(wire.encode_otp_result(result)))) == result


def test_wire_float_money_is_rejected() -> None:
    data = json.loads(wire.dumps(Card("card-1", "工商银行", "1234", "6222 **** **** 1234", True, NOW)))
    with pytest.raises(ValueError):
        wire.decode(int, 12.5)
    data["is_default"] = "yes"
    with pytest.raises(ValueError):
        wire.decode(Card, data)
