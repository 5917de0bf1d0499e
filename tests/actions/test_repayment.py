"""Repayment and early repayment (actions/repayment.py) on the stub bank.

Demo figures at START: cust-good owes 9,000 元 on loan-good-1, nothing due (next instalment 2025-04-03), payoff
today 9,032.40 元, balance 12,888.00 元. cust-overdue owes 5,000 元 on loan-overdue-1 with instalment 1 overdue:
1,077.63 元 due now (principal 1,000.00, interest 67.50, penalty 10.13), balance 300.00 元.
"""

from __future__ import annotations

from typing import Any

import pytest

from actions.backends.base import LoanStatus
from actions.backends.stub import StubBankBackend
from actions.repayment import (
    ActionAskRepayConfirmed,
    ActionAskRepayLoanId,
    ActionAskRepayScope,
    ActionSubmitRepayment,
    ValidateRepayForm,
)
from tests.actions.conftest import Conversation, run

FORM = "repay_form"


def _repaying(customer: str = "cust-good", intent: str = "repay_loan", **said: Any) -> Conversation:
    conversation = Conversation(customer=customer).say("我要还款", intent, **said)
    return conversation.set(pending_request=intent).start_form(FORM)


async def _second_loan(bank: StubBankBackend) -> str:
    loan = await bank.apply_loan("cust-good", 200_000, 5, "旅游", "test-second-loan")
    return loan.id


# -- activation ----------------------------------------------------------------------------------------------


async def test_repay_form_activation_with_one_loan_chooses_it(verified_bank: StubBankBackend) -> None:
    result = await run(ValidateRepayForm(), _repaying().tracker(form=FORM))

    assert result.slots["repay_loan_id"] == "loan-good-1"
    assert result.slots["repay_kind"] == "due"
    assert result.slots["requested_slot"] == "repay_scope"


async def test_repay_form_activation_for_early_repayment_is_early(verified_bank: StubBankBackend) -> None:
    result = await run(ValidateRepayForm(), _repaying(intent="early_repayment").tracker(form=FORM))

    assert result.slots["repay_kind"] == "early"


async def test_repay_form_activation_amount_said_up_front_means_part(verified_bank: StubBankBackend) -> None:
    conversation = _repaying(intent="early_repayment", amount=5000)

    result = await run(ValidateRepayForm(), conversation.tracker(form=FORM, repay_amount=5000))

    assert result.slots["repay_scope"] == "partial"
    assert result.slots["repay_amount"] == "5000.00"
    assert result.slots["requested_slot"] == "repay_confirmed"


async def test_repay_form_activation_without_loans_says_so_and_stops(verified_bank: StubBankBackend) -> None:
    result = await run(ValidateRepayForm(), _repaying("cust-deaf").tracker(form=FORM))

    assert result.responses == ["utter_no_active_loans"]
    assert result.slots["requested_slot"] is None


async def test_repay_form_activation_with_two_loans_asks_which(verified_bank: StubBankBackend) -> None:
    await _second_loan(verified_bank)

    result = await run(ValidateRepayForm(), _repaying().tracker(form=FORM))

    assert "repay_loan_id" not in result.slots
    assert result.slots["requested_slot"] == "repay_loan_id"


# -- answers -------------------------------------------------------------------------------------------------


async def test_repay_form_loan_choice_by_position(verified_bank: StubBankBackend) -> None:
    second = await _second_loan(verified_bank)
    conversation = _repaying().say("第一笔", "inform")
    loans = await verified_bank.list_loans("cust-good")
    assert loans[0].id == second  # newest first

    result = await run(
        ValidateRepayForm(), conversation.tracker(form=FORM, requested="repay_loan_id", repay_loan_id="第一笔")
    )

    assert result.slots["repay_loan_id"] == second


async def test_repay_form_loan_choice_out_of_range_asks_again(verified_bank: StubBankBackend) -> None:
    await _second_loan(verified_bank)
    conversation = _repaying().say("3", "inform")

    result = await run(
        ValidateRepayForm(), conversation.tracker(form=FORM, requested="repay_loan_id", repay_loan_id="3")
    )

    assert result.responses == ["utter_repay_loan_choice_invalid"]
    assert result.slots["repay_loan_id"] is None


async def test_repay_form_amount_said_before_choosing_is_checked_against_the_chosen_loan(
    verified_bank: StubBankBackend,
) -> None:
    await _second_loan(verified_bank)  # 2,000 元: paying it off costs a little over 2,000 元
    conversation = _repaying(amount=5000).set(repay_amount="5000.00", repay_scope="partial").say("1", "inform")

    result = await run(
        ValidateRepayForm(), conversation.tracker(form=FORM, requested="repay_loan_id", repay_loan_id="1")
    )

    assert result.responses == ["utter_error_amount_above_owed"]
    assert result.slots["repay_amount"] is None
    assert result.slots["requested_slot"] == "repay_amount"


@pytest.mark.parametrize(
    ("text", "scope"), [("全部还清", "full"), ("还一部分", "partial"), ("一次性结清", "full"), ("嗯", None)]
)
async def test_repay_form_scope_all_or_part(verified_bank: StubBankBackend, text: str, scope: str | None) -> None:
    conversation = _repaying().set(repay_loan_id="loan-good-1", repay_kind="due").say(text, "inform")

    result = await run(ValidateRepayForm(), conversation.tracker(form=FORM, requested="repay_scope", repay_scope=text))

    assert result.slots["repay_scope"] == scope
    assert result.responses == ([] if scope else ["utter_repay_scope_invalid"])
    expected_next = {"full": "repay_confirmed", "partial": "repay_amount", None: "repay_scope"}[scope]
    assert result.slots["requested_slot"] == expected_next


@pytest.mark.parametrize(
    ("customer", "amount", "response", "variables"),
    [
        ("cust-good", 10000, "utter_error_amount_above_owed", {"owed": "9,032.40"}),
        ("cust-overdue", 500, "utter_error_amount_below_due", {"minimum": "1,077.63"}),
        ("cust-good", "几百", "utter_repay_amount_invalid", {}),
    ],
)
async def test_repay_form_amount_outside_what_is_owed_asks_again(
    verified_bank: StubBankBackend, customer: str, amount: Any, response: str, variables: dict[str, str]
) -> None:
    loan = (await verified_bank.list_loans(customer))[0].id
    conversation = _repaying(customer).set(repay_loan_id=loan, repay_kind="due", repay_scope="partial")

    result = await run(
        ValidateRepayForm(),
        conversation.say(str(amount), "inform").tracker(form=FORM, requested="repay_amount", repay_amount=amount),
    )

    assert result.responses == [response]
    assert result.variables(response) == variables
    assert result.slots["repay_amount"] is None


# -- asking --------------------------------------------------------------------------------------------------


async def test_ask_repay_loan_id_lists_loans_with_positions(verified_bank: StubBankBackend) -> None:
    await _second_loan(verified_bank)

    result = await run(ActionAskRepayLoanId(), _repaying().tracker(form=FORM, requested="repay_loan_id"))

    assert result.responses == [
        "utter_repay_choose_loan",
        "utter_repay_loan_option",
        "utter_repay_loan_option",
        "utter_repay_loan_question",
    ]
    assert [message.get("index") for message in result.messages[1:3]] == [1, 2]


@pytest.mark.parametrize(
    ("customer", "kind", "response", "variable", "value"),
    [
        ("cust-overdue", "due", "utter_repay_due_now", "amount", "1,077.63"),
        ("cust-good", "due", "utter_repay_next_instalment", "number", 2),
        ("cust-good", "early", "utter_repay_early_quote", "total", "9,032.40"),
    ],
)
async def test_ask_repay_scope_shows_what_all_costs(
    verified_bank: StubBankBackend, customer: str, kind: str, response: str, variable: str, value: Any
) -> None:
    loan = (await verified_bank.list_loans(customer))[0].id
    conversation = _repaying(customer).set(repay_loan_id=loan, repay_kind=kind)

    result = await run(ActionAskRepayScope(), conversation.tracker(form=FORM, requested="repay_scope"))

    assert result.responses == [response, "utter_repay_scope_question"]
    assert result.variables(response)[variable] == value


async def test_ask_repay_confirmed_payoff_shows_amount_and_balance(verified_bank: StubBankBackend) -> None:
    conversation = _repaying().set(repay_loan_id="loan-good-1", repay_kind="early", repay_scope="full")

    result = await run(ActionAskRepayConfirmed(), conversation.tracker(form=FORM, requested="repay_confirmed"))

    assert result.responses == ["utter_repay_confirm_payoff"]
    assert result.variables("utter_repay_confirm_payoff") == {"amount": "9,032.40", "balance": "12,888.00"}


async def test_ask_repay_confirmed_partial_shows_the_amount(verified_bank: StubBankBackend) -> None:
    conversation = _repaying().set(
        repay_loan_id="loan-good-1", repay_kind="early", repay_scope="partial", repay_amount="2000.00"
    )

    result = await run(ActionAskRepayConfirmed(), conversation.tracker(form=FORM, requested="repay_confirmed"))

    assert result.responses == ["utter_repay_confirm"]
    assert result.variables("utter_repay_confirm")["amount"] == "2,000.00"


async def test_ask_repay_confirmed_nothing_due_offers_the_next_instalment(verified_bank: StubBankBackend) -> None:
    conversation = _repaying().set(repay_loan_id="loan-good-1", repay_kind="due", repay_scope="full")

    result = await run(ActionAskRepayConfirmed(), conversation.tracker(form=FORM, requested="repay_confirmed"))

    assert result.responses == ["utter_repay_confirm_next"]
    assert result.variables("utter_repay_confirm_next")["number"] == 2


# -- submit --------------------------------------------------------------------------------------------------


def _confirmed(customer: str = "cust-good", confirmed: bool | None = True, **slots: Any) -> Conversation:
    conversation = _repaying(customer).set(**slots).say("确认", "affirm")
    return conversation.set(repay_confirmed=confirmed)


async def test_submit_repayment_early_payoff_closes_the_loan(verified_bank: StubBankBackend) -> None:
    conversation = _confirmed(repay_loan_id="loan-good-1", repay_kind="early", repay_scope="full")

    result = await run(ActionSubmitRepayment(), conversation.tracker())

    assert result.responses == ["utter_repay_success", "utter_loan_paid_off"]
    assert result.variables("utter_repay_success")["amount"] == "9,032.40"
    assert result.variables("utter_repay_success")["outstanding"] == "0.00"
    assert result.slots["repay_confirmed"] is None
    assert await verified_bank.list_loans("cust-good") == []


async def test_submit_repayment_retried_confirmation_repays_once(verified_bank: StubBankBackend) -> None:
    tracker = _confirmed(
        repay_loan_id="loan-good-1", repay_kind="early", repay_scope="partial", repay_amount="2000.00"
    ).tracker()

    first = await run(ActionSubmitRepayment(), tracker)
    second = await run(ActionSubmitRepayment(), tracker)

    assert first.responses == second.responses == ["utter_repay_success"]
    assert await verified_bank.balance("cust-good") == 1_288_800 - 200_000
    loan = (await verified_bank.list_loans("cust-good"))[0]
    assert loan.status is LoanStatus.ACTIVE


async def test_submit_repayment_short_balance_is_told_the_balance(verified_bank: StubBankBackend) -> None:
    conversation = _confirmed("cust-overdue", repay_loan_id="loan-overdue-1", repay_kind="due", repay_scope="full")

    result = await run(ActionSubmitRepayment(), conversation.tracker())

    assert result.responses == ["utter_error_insufficient_balance"]
    assert result.variables("utter_error_insufficient_balance") == {"balance": "300.00"}
    assert result.slots["repay_loan_id"] is None


async def test_submit_repayment_due_pays_what_is_overdue(verified_bank: StubBankBackend) -> None:
    await verified_bank.debug_deposit("cust-overdue", 200_000)
    conversation = _confirmed("cust-overdue", repay_loan_id="loan-overdue-1", repay_kind="due", repay_scope="full")

    result = await run(ActionSubmitRepayment(), conversation.tracker())

    assert result.responses == ["utter_repay_success"]
    assert result.variables("utter_repay_success")["penalty"] == "10.13"
    assert (await verified_bank.get_customer("cust-overdue")).status.value == "normal"


async def test_submit_repayment_denied_repays_nothing(verified_bank: StubBankBackend) -> None:
    conversation = _confirmed(repay_loan_id="loan-good-1", repay_kind="early", repay_scope="full", confirmed=False)

    result = await run(ActionSubmitRepayment(), conversation.tracker())

    assert result.responses == ["utter_repay_not_submitted"]
    assert await verified_bank.balance("cust-good") == 1_288_800


async def test_submit_repayment_unverified_repays_nothing(bank: StubBankBackend) -> None:
    conversation = _confirmed(repay_loan_id="loan-good-1", repay_kind="early", repay_scope="full")
    conversation.verified = None

    result = await run(ActionSubmitRepayment(), conversation.tracker())

    assert result.responses == ["utter_verify_first"]
    await bank.debug_mark_verified("cust-good")
    assert await bank.balance("cust-good") == 1_288_800
