"""Credit limit, the loan application form and the repayment schedule (actions/loan.py) on the stub bank.

Demo figures (tests/actions/conftest.py START): cust-good has a 50,000 元 limit at 0.03 %/day and owes 9,000 元
of principal, so 41,000 元 is available and one loan may be 40,000 元; cust-deaf has 100,000 元 and no loan.
"""

from __future__ import annotations

from typing import Any

import pytest

from actions.backends.exceptions import BackendUnavailable
from actions.backends.stub import StubBankBackend
from actions.loan import (
    ActionAskLoanConfirmed,
    ActionCheckCreditLimit,
    ActionLoanSchedule,
    ActionSubmitLoan,
    ValidateLoanForm,
)
from tests.actions.conftest import Conversation, run

FORM = "loan_form"
FIGURES = {"total", "available", "max_loan", "balance", "amount", "outstanding", "principal"}


def _no_figures(result: Any) -> None:
    """Nothing account-specific went out: no reply carries an amount variable."""
    for message in result.messages:
        assert not FIGURES & set(message), f"{message['response']} shows a figure"


# -- credit limit --------------------------------------------------------------------------------------------


async def test_credit_limit_verified_shows_limit_available_and_rate(verified_bank: StubBankBackend) -> None:
    result = await run(ActionCheckCreditLimit(), Conversation().say("我的额度多少", "check_credit_limit").tracker())

    assert result.responses == ["utter_credit_limit"]
    assert result.variables("utter_credit_limit") == {
        "total": "50,000.00",
        "available": "41,000.00",
        "max_loan": "40,000.00",
        "daily_rate": "0.03",
        "annual_rate": "10.95",
    }


async def test_credit_limit_unverified_never_shows_the_limit(bank: StubBankBackend) -> None:
    await bank.debug_mark_verified("cust-good")  # even when the bank would answer

    result = await run(ActionCheckCreditLimit(), Conversation(verified=None).tracker())

    assert result.responses == ["utter_verify_first"]
    assert result.variables("utter_verify_first") == {"retry_intent": "check_credit_limit"}
    _no_figures(result)


async def test_credit_limit_locked_customer_never_shows_the_limit(verified_bank: StubBankBackend) -> None:
    result = await run(ActionCheckCreditLimit(), Conversation(verified=False).tracker())

    assert result.responses == ["utter_verify_first"]
    _no_figures(result)


async def test_credit_limit_anonymous_is_told_to_log_in(bank: StubBankBackend) -> None:
    result = await run(ActionCheckCreditLimit(), Conversation(customer=None, verified=None).tracker())

    assert result.responses == ["utter_login_required"]
    _no_figures(result)


async def test_credit_limit_bank_verification_expired_asks_to_verify_again(bank: StubBankBackend) -> None:
    result = await run(ActionCheckCreditLimit(), Conversation(verified=True).tracker())  # bank: not verified

    assert result.responses == ["utter_error_not_verified"]
    assert result.variables("utter_error_not_verified") == {"retry_intent": "check_credit_limit"}
    assert result.slots == {"verified": None}
    _no_figures(result)


async def test_credit_limit_new_customer_without_credit_is_told_so(verified_bank: StubBankBackend) -> None:
    result = await run(ActionCheckCreditLimit(), Conversation(customer="cust-new").tracker())

    assert result.responses == ["utter_error_credit_not_assessed"]


@pytest.mark.parametrize("error", [BackendUnavailable("timeout"), RuntimeError("boom"), ValueError("bad data")])
async def test_credit_limit_backend_failure_apologises_and_offers_a_person(
    failing_bank: Any, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    failing_bank(error)

    result = await run(ActionCheckCreditLimit(), Conversation().tracker())

    assert result.responses == ["utter_error_backend_unavailable"]
    assert str(error) not in repr(result.messages)
    assert any("action_check_credit_limit" in record.getMessage() for record in caplog.records)


# -- loan form: activation -----------------------------------------------------------------------------------


def _applying(customer: str = "cust-good", **said: Any) -> Conversation:
    return Conversation(customer=customer).say("我要借钱", "apply_loan", **said).start_form(FORM)


async def test_loan_form_activation_says_how_much_may_be_borrowed(verified_bank: StubBankBackend) -> None:
    result = await run(ValidateLoanForm(), _applying().tracker(form=FORM))

    assert result.responses == ["utter_loan_start"]
    assert result.variables("utter_loan_start") == {"max_loan": "40,000.00"}
    assert result.slots["requested_slot"] == "loan_amount"


@pytest.mark.parametrize(
    ("customer", "response"),
    [
        ("cust-frozen", "utter_error_account_frozen"),
        ("cust-overdue", "utter_error_customer_overdue"),
        ("cust-new", "utter_error_credit_not_assessed"),
    ],
)
async def test_loan_form_activation_customer_who_cannot_borrow_is_told_why_and_form_stops(
    verified_bank: StubBankBackend, customer: str, response: str
) -> None:
    result = await run(ValidateLoanForm(), _applying(customer).tracker(form=FORM))

    assert result.responses == [response]
    assert result.slots["requested_slot"] is None
    assert result.slots["loan_amount"] is None


async def test_loan_form_activation_without_face_check_points_to_the_app(verified_bank: StubBankBackend) -> None:
    await verified_bank.debug_set_face_check("cust-good", passed=False)

    result = await run(ValidateLoanForm(), _applying().tracker(form=FORM))

    assert result.responses == ["utter_error_face_check_required"]
    assert result.slots["requested_slot"] is None


async def test_loan_form_activation_unverified_stops_without_figures(bank: StubBankBackend) -> None:
    conversation = _applying()
    conversation.verified = None

    result = await run(ValidateLoanForm(), conversation.tracker(form=FORM))

    assert result.responses == ["utter_verify_first"]
    assert result.slots["requested_slot"] is None
    _no_figures(result)


async def test_loan_form_activation_validates_amount_said_up_front(verified_bank: StubBankBackend) -> None:
    conversation = _applying(amount=5000, term=10)

    result = await run(ValidateLoanForm(), conversation.tracker(form=FORM, loan_amount=5000, loan_term=10))

    assert result.slots["loan_amount"] == 5000
    assert result.slots["loan_term"] == 10
    assert result.slots["requested_slot"] == "loan_purpose"


# -- loan form: answers --------------------------------------------------------------------------------------


async def _amount(conversation: Conversation, value: Any) -> Any:
    conversation.say(str(value), "inform", amount=value)
    return await run(ValidateLoanForm(), conversation.tracker(form=FORM, requested="loan_amount", loan_amount=value))


@pytest.mark.parametrize(
    ("customer", "amount", "response", "variables"),
    [
        ("cust-good", 300, "utter_error_amount_below_minimum", {"minimum": "500.00"}),
        ("cust-good", 5050, "utter_error_amount_not_in_steps", {"step": "100.00"}),
        ("cust-good", 45000, "utter_error_amount_above_available", {"available": "41,000.00"}),
        ("cust-deaf", 45000, "utter_error_amount_above_loan_maximum", {"maximum": "40,000.00"}),
        ("cust-good", "5000.5", "utter_error_amount_not_in_steps", {"step": "100.00"}),
        ("cust-good", "很多", "utter_loan_amount_invalid", {}),
    ],
)
async def test_loan_form_amount_breaking_a_rule_asks_again(
    verified_bank: StubBankBackend, customer: str, amount: Any, response: str, variables: dict[str, str]
) -> None:
    result = await _amount(_applying(customer), amount)

    assert result.responses == [response]
    assert result.variables(response) == variables
    assert result.slots["loan_amount"] is None
    assert result.slots["requested_slot"] == "loan_amount"


async def test_loan_form_amount_within_the_rules_is_kept_and_term_asked(verified_bank: StubBankBackend) -> None:
    result = await _amount(_applying(), 5000)

    assert result.responses == []
    assert result.slots["loan_amount"] == 5000
    assert result.slots["requested_slot"] == "loan_term"


@pytest.mark.parametrize(("term", "kept"), [(12, None), ("10", 10), (20, 20), ("abc", None)])
async def test_loan_form_term_must_be_5_10_or_20(verified_bank: StubBankBackend, term: Any, kept: Any) -> None:
    conversation = _applying().set(loan_amount=5000).say(f"{term}期", "inform", term=term)

    result = await run(ValidateLoanForm(), conversation.tracker(form=FORM, requested="loan_term", loan_term=term))

    assert result.slots["loan_term"] == kept
    assert result.responses == ([] if kept else ["utter_error_invalid_term"])


@pytest.mark.parametrize(("purpose", "kept"), [("  装修  ", "装修"), ("买" * 51, None), ("   ", None)])
async def test_loan_form_purpose_is_a_short_phrase(verified_bank: StubBankBackend, purpose: str, kept: Any) -> None:
    conversation = _applying().set(loan_amount=5000, loan_term=10).say(purpose, "inform")

    result = await run(
        ValidateLoanForm(), conversation.tracker(form=FORM, requested="loan_purpose", loan_purpose=purpose)
    )

    assert result.slots["loan_purpose"] == kept
    assert result.slots["requested_slot"] == ("loan_confirmed" if kept else "loan_purpose")


@pytest.mark.parametrize(
    ("text", "intent", "purpose"),
    [
        ("日常消费", "transactions", "日常消费"),
        ("消费", "transactions", "日常消费"),
        ("装修", "check_balance", "装修"),
        ("买车", "out_of_scope", "买车"),
        ("旅游", "chitchat", "旅游"),
        ("教育", "faq", "教育"),
    ],
)
async def test_loan_form_purpose_read_as_another_intent_is_taken_and_confirmation_asked(
    verified_bank: StubBankBackend, text: str, intent: str, purpose: str
) -> None:
    conversation = _applying().set(loan_amount=5000, loan_term=10).say(text, intent)

    # An ignored intent: the slot's from_text mapping filled nothing, the form hands no candidate over.
    result = await run(ValidateLoanForm(), conversation.tracker(form=FORM, requested="loan_purpose"))

    assert result.responses == []
    assert result.slots["loan_purpose"] == purpose
    assert result.slots["requested_slot"] == "loan_confirmed"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("借款用途有限制吗", "faq"),
        ("算了", "cancel"),
        ("转人工", "request_human"),
        ("查一下最近的消费记录", "transactions"),
    ],
)
async def test_loan_form_interruption_while_purpose_asked_is_not_taken_as_purpose(
    verified_bank: StubBankBackend, text: str, intent: str
) -> None:
    conversation = _applying().set(loan_amount=5000, loan_term=10).say(text, intent)

    result = await run(ValidateLoanForm(), conversation.tracker(form=FORM, requested="loan_purpose"))

    assert result.responses == []
    assert "loan_purpose" not in result.slots  # nothing filled: the form rejects and the interruption's rule runs
    assert result.slots["requested_slot"] == "loan_purpose"


async def test_loan_form_purpose_word_before_purpose_is_asked_is_not_taken(verified_bank: StubBankBackend) -> None:
    conversation = _applying().say("消费", "transactions")

    result = await run(ValidateLoanForm(), conversation.tracker(form=FORM, requested="loan_amount"))

    assert "loan_purpose" not in result.slots
    assert result.slots["requested_slot"] == "loan_amount"


@pytest.mark.parametrize(
    ("text", "kept"), [("装修用的", "装修"), ("主要是日常消费吧", "日常消费"), ("给店里进货", "给店里进货")]
)
async def test_loan_form_purpose_is_recorded_by_its_known_name_else_as_said(
    verified_bank: StubBankBackend, text: str, kept: str
) -> None:
    conversation = _applying().set(loan_amount=5000, loan_term=10).say(text, "inform")

    result = await run(ValidateLoanForm(), conversation.tracker(form=FORM, requested="loan_purpose", loan_purpose=text))

    assert result.slots["loan_purpose"] == kept
    assert result.slots["requested_slot"] == "loan_confirmed"


# -- confirm and submit --------------------------------------------------------------------------------------


def _filled(confirmed: bool | None = True, customer: str = "cust-good") -> Conversation:
    conversation = _applying(customer).set(loan_amount=5000, loan_term=10, loan_purpose="装修")
    return conversation.say("确认", "affirm").set(loan_confirmed=confirmed)


async def test_loan_form_confirmation_shows_the_bank_quote(verified_bank: StubBankBackend) -> None:
    conversation = _applying().set(loan_amount=5000, loan_term=10, loan_purpose="装修")

    result = await run(ActionAskLoanConfirmed(), conversation.tracker(form=FORM, requested="loan_confirmed"))

    assert result.responses == ["utter_loan_quote", "utter_loan_confirm_question"]
    quote = result.variables("utter_loan_quote")
    assert quote["amount"] == "5,000.00"
    assert quote["term"] == 10
    assert quote["first_due_date"] == "2025-04-15"
    assert quote["first_payment"] == "546.50"  # 500.00 principal + 31 days x 0.03 % x 5,000.00 = 46.50
    assert (quote["bank_name"], quote["card_last4"]) == ("工商银行", "7894")


async def test_loan_form_confirmation_bank_down_stops_the_form(failing_bank: Any) -> None:
    failing_bank(BackendUnavailable("timeout"))
    conversation = _applying().set(loan_amount=5000, loan_term=10, loan_purpose="装修")

    result = await run(ActionAskLoanConfirmed(), conversation.tracker(form=FORM, requested="loan_confirmed"))

    assert result.responses == ["utter_error_backend_unavailable"]
    assert result.slots == {"requested_slot": None}


async def test_submit_loan_confirmed_makes_the_loan_and_clears_the_form(verified_bank: StubBankBackend) -> None:
    result = await run(ActionSubmitLoan(), _filled().tracker())

    assert result.responses == ["utter_loan_success"]
    assert result.variables("utter_loan_success") == {
        "amount": "5,000.00",
        "term": 10,
        "card_last4": "7894",
        "first_due_date": "2025-04-15",
    }
    assert result.slots == {"loan_amount": None, "loan_term": None, "loan_purpose": None, "loan_confirmed": None}
    assert len(await verified_bank.list_loans("cust-good")) == 2


async def test_submit_loan_retried_confirmation_makes_one_loan(verified_bank: StubBankBackend) -> None:
    tracker = _filled().tracker()

    first = await run(ActionSubmitLoan(), tracker)
    second = await run(ActionSubmitLoan(), tracker)

    assert first.responses == second.responses == ["utter_loan_success"]
    assert len(await verified_bank.list_loans("cust-good")) == 2


async def test_submit_loan_next_form_run_makes_another_loan(verified_bank: StubBankBackend) -> None:
    await run(ActionSubmitLoan(), _filled().tracker())

    await run(ActionSubmitLoan(), _filled().tracker())  # a new activation: a new idempotency key

    assert len(await verified_bank.list_loans("cust-good")) == 3


async def test_submit_loan_denied_at_confirmation_makes_no_loan(verified_bank: StubBankBackend) -> None:
    result = await run(ActionSubmitLoan(), _filled(confirmed=False).tracker())

    assert result.responses == ["utter_loan_not_submitted"]
    assert result.slots["loan_confirmed"] is None
    assert len(await verified_bank.list_loans("cust-good")) == 1


async def test_submit_loan_after_form_stopped_says_nothing_and_clears(verified_bank: StubBankBackend) -> None:
    result = await run(ActionSubmitLoan(), _filled(confirmed=None).tracker())

    assert result.responses == []
    assert result.slots["loan_amount"] is None


async def test_submit_loan_unverified_makes_no_loan(bank: StubBankBackend) -> None:
    conversation = _filled()
    conversation.verified = None

    result = await run(ActionSubmitLoan(), conversation.tracker())

    assert result.responses == ["utter_verify_first"]
    assert result.slots["loan_amount"] is None
    await bank.debug_mark_verified("cust-good")
    assert len(await bank.list_loans("cust-good")) == 1


async def test_submit_loan_face_check_missing_points_to_the_app(verified_bank: StubBankBackend) -> None:
    await verified_bank.debug_set_face_check("cust-good", passed=False)

    result = await run(ActionSubmitLoan(), _filled().tracker())

    assert result.responses == ["utter_error_face_check_required"]
    assert result.slots["loan_confirmed"] is None


# -- after the interpreter's video check (the hub's events, no SMS code) ---------------------------------------


async def test_loan_application_after_hub_video_check_proceeds_to_the_loan(bank: StubBankBackend) -> None:
    conversation = Conversation(customer="cust-deaf", verified=None).hub_verified()
    conversation.say("我要借钱", "apply_loan").start_form(FORM)

    started = await run(ValidateLoanForm(), conversation.tracker(form=FORM))
    amount = await _amount(conversation, 5000)
    conversation.set(loan_amount=5000, loan_term=10, loan_purpose="装修")
    quote = await run(ActionAskLoanConfirmed(), conversation.tracker(form=FORM, requested="loan_confirmed"))
    submitted = await run(ActionSubmitLoan(), conversation.say("确认", "affirm").set(loan_confirmed=True).tracker())

    assert started.responses == ["utter_loan_start"]
    assert started.variables("utter_loan_start") == {"max_loan": "40,000.00"}
    assert amount.slots["loan_amount"] == 5000
    assert quote.variables("utter_loan_quote")["amount"] == "5,000.00"
    assert submitted.responses == ["utter_loan_success"]
    assert [loan.principal_fen for loan in await bank.list_loans("cust-deaf")] == [500_000]
    assert len(await bank.debug_verifications("cust-deaf")) == 1


async def test_loan_application_without_hub_video_check_shows_no_figures(bank: StubBankBackend) -> None:
    conversation = Conversation(customer="cust-deaf", verified=None).say("我要借钱", "apply_loan").start_form(FORM)

    result = await run(ValidateLoanForm(), conversation.tracker(form=FORM))

    assert result.responses == ["utter_verify_first"]
    _no_figures(result)


# -- schedule ------------------------------------------------------------------------------------------------


async def test_loan_schedule_shows_summary_and_next_instalments(verified_bank: StubBankBackend) -> None:
    result = await run(ActionLoanSchedule(), Conversation().tracker())

    assert result.responses == [
        "utter_loan_summary",
        "utter_instalment_pending",
        "utter_instalment_pending",
        "utter_instalment_pending",
        "utter_schedule_more",
    ]
    assert result.variables("utter_loan_summary") == {
        "principal": "10,000.00",
        "loan_date": "2025-02-03",
        "term": 10,
        "outstanding": "9,000.00",
        "remaining": 9,
    }
    assert result.variables("utter_instalment_pending")["due_date"] == "2025-04-03"
    assert result.variables("utter_schedule_more") == {"more": 6}


async def test_loan_schedule_overdue_instalment_shows_penalty_and_reminder(verified_bank: StubBankBackend) -> None:
    result = await run(ActionLoanSchedule(), Conversation(customer="cust-overdue").tracker())

    assert result.responses[:2] == ["utter_loan_summary", "utter_instalment_overdue"]
    assert result.responses[-1] == "utter_overdue_reminder"
    assert result.variables("utter_instalment_overdue")["penalty"] == "10.13"


async def test_loan_schedule_no_loans_says_so(verified_bank: StubBankBackend) -> None:
    result = await run(ActionLoanSchedule(), Conversation(customer="cust-deaf").tracker())

    assert result.responses == ["utter_no_active_loans"]


async def test_loan_schedule_unverified_shows_nothing(bank: StubBankBackend) -> None:
    result = await run(ActionLoanSchedule(), Conversation(verified=None).tracker())

    assert result.responses == ["utter_verify_first"]
    _no_figures(result)
