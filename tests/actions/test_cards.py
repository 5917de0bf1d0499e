"""Binding and unbinding cards (actions/cards.py) on the stub bank.

cust-good has two cards: 工商银行 ...7894 (default) and 建设银行 ...3213; its phone is 13800000001.
"""

from __future__ import annotations

from typing import Any

import pytest

from actions.backends.stub import StubBankBackend
from actions.cards import (
    ActionAskCardConfirmed,
    ActionAskCardLast4,
    ActionSubmitCard,
    ValidateBindCardForm,
)
from actions.parsing import luhn_ok
from tests.actions.conftest import Conversation, run

FORM = "bind_card_form"


def _card(prefix: str = "621483000099998") -> str:
    """A Luhn-valid card number starting with `prefix`."""
    return next(prefix + digit for digit in "0123456789" if luhn_ok(prefix + digit))


def _binding(customer: str = "cust-good", text: str = "我要绑卡", **said: Any) -> Conversation:
    return Conversation(customer=customer).say(text, "bind_card", **said).start_form(FORM)


# -- activation ----------------------------------------------------------------------------------------------


async def test_bind_card_form_activation_binding_asks_card_number(verified_bank: StubBankBackend) -> None:
    result = await run(ValidateBindCardForm(), _binding().tracker(form=FORM))

    assert result.responses == ["utter_bind_card_start"]
    assert result.slots["card_operation"] == "bind"
    assert result.slots["requested_slot"] == "card_number"


async def test_bind_card_form_activation_unbinding_asks_which_card(verified_bank: StubBankBackend) -> None:
    result = await run(ValidateBindCardForm(), _binding(text="解绑银行卡").tracker(form=FORM))

    assert result.slots["card_operation"] == "unbind"
    assert result.slots["requested_slot"] == "card_last4"


async def test_bind_card_form_activation_unbinding_named_card_asks_to_confirm(verified_bank: StubBankBackend) -> None:
    conversation = _binding(text="把尾号3213的卡解绑", card_last4="3213")

    result = await run(ValidateBindCardForm(), conversation.tracker(form=FORM, card_last4="3213"))

    assert result.slots["card_id"] == "card-good-2"
    assert result.slots["requested_slot"] == "card_confirmed"


async def test_bind_card_form_activation_frozen_account_stops(verified_bank: StubBankBackend) -> None:
    result = await run(ValidateBindCardForm(), _binding("cust-frozen").tracker(form=FORM))

    assert result.responses == ["utter_error_account_frozen"]
    assert result.slots["requested_slot"] is None


async def test_bind_card_form_activation_five_cards_is_the_most(verified_bank: StubBankBackend) -> None:
    for index in range(3):
        await verified_bank.bind_card("cust-good", _card(f"62220200000000{index}"), "13800000001", f"k{index}")

    result = await run(ValidateBindCardForm(), _binding().tracker(form=FORM))

    assert result.responses == ["utter_error_card_limit_reached"]
    assert result.variables("utter_error_card_limit_reached") == {"limit": 5}
    assert result.slots["requested_slot"] is None


# -- answers -------------------------------------------------------------------------------------------------


VALID = _card()
MISTYPED = VALID[:-1] + str((int(VALID[-1]) + 1) % 10)  # one wrong digit: the Luhn check catches it


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (" ".join(VALID[i : i + 4] for i in range(0, 16, 4)), VALID),
        (MISTYPED, None),
        ("12345", None),
        ("6214-8300-0099-99", None),
    ],
)
async def test_bind_card_form_card_number_must_be_a_card_number(
    verified_bank: StubBankBackend, typed: str, kept: str | None
) -> None:
    conversation = _binding().set(card_operation="bind").say(typed, "inform")

    result = await run(
        ValidateBindCardForm(), conversation.tracker(form=FORM, requested="card_number", card_number=typed)
    )

    assert result.slots["card_number"] == kept
    assert result.responses == ([] if kept else ["utter_card_number_invalid"])


@pytest.mark.parametrize(
    ("typed", "kept"), [("138 0000 0001", "13800000001"), ("+8613800000001", "13800000001"), ("1234", None)]
)
async def test_bind_card_form_reserved_phone_must_be_a_mobile_number(
    verified_bank: StubBankBackend, typed: str, kept: str | None
) -> None:
    conversation = _binding().set(card_operation="bind", card_number=_card()).say(typed, "inform")

    result = await run(
        ValidateBindCardForm(), conversation.tracker(form=FORM, requested="reserved_phone", reserved_phone=typed)
    )

    assert result.slots["reserved_phone"] == kept
    assert result.slots["requested_slot"] == ("card_confirmed" if kept else "reserved_phone")


@pytest.mark.parametrize(("typed", "card_id"), [("2", "card-good-2"), ("尾号7894", "card-good-1"), ("9999", None)])
async def test_bind_card_form_card_choice_by_tail_or_position(
    verified_bank: StubBankBackend, typed: str, card_id: str | None
) -> None:
    conversation = _binding(text="解绑").set(card_operation="unbind").say(typed, "inform")

    result = await run(
        ValidateBindCardForm(), conversation.tracker(form=FORM, requested="card_last4", card_last4=typed)
    )

    assert result.slots["card_id"] == card_id
    assert result.responses == ([] if card_id else ["utter_card_choice_invalid"])


# -- asking --------------------------------------------------------------------------------------------------


async def test_ask_card_last4_lists_cards_with_a_button_each(verified_bank: StubBankBackend) -> None:
    conversation = _binding(text="解绑").set(card_operation="unbind")

    result = await run(ActionAskCardLast4(), conversation.tracker(form=FORM, requested="card_last4"))

    assert result.responses == [
        "utter_card_list_header",
        "utter_card_option_default",
        "utter_card_option",
        "utter_card_choice_question",
    ]
    assert [button["payload"] for button in result.messages[-1]["buttons"]] == [
        '/inform{"card_last4":"7894"}',
        '/inform{"card_last4":"3213"}',
    ]


async def test_ask_card_confirmed_binding_masks_the_phone(verified_bank: StubBankBackend) -> None:
    number = _card()
    conversation = _binding().set(card_operation="bind", card_number=number, reserved_phone="13800000001")

    result = await run(ActionAskCardConfirmed(), conversation.tracker(form=FORM, requested="card_confirmed"))

    assert result.responses == ["utter_card_confirm_bind"]
    assert result.variables("utter_card_confirm_bind") == {"card_last4": number[-4:], "phone": "138****0001"}


# -- submit --------------------------------------------------------------------------------------------------


def _confirmed(confirmed: bool | None = True, customer: str = "cust-good", **slots: Any) -> Conversation:
    return _binding(customer).set(**slots).say("确认", "affirm").set(card_confirmed=confirmed)


async def test_submit_card_binds_and_clears_the_card_number(verified_bank: StubBankBackend) -> None:
    number = _card()
    conversation = _confirmed(card_operation="bind", card_number=number, reserved_phone="13800000001")

    result = await run(ActionSubmitCard(), conversation.tracker())

    assert result.responses == ["utter_card_bound"]
    assert result.variables("utter_card_bound") == {"bank_name": "招商银行", "card_last4": number[-4:]}
    assert result.slots["card_number"] is None
    assert len(await verified_bank.cards("cust-good")) == 3


async def test_submit_card_retried_confirmation_binds_once(verified_bank: StubBankBackend) -> None:
    tracker = _confirmed(card_operation="bind", card_number=_card(), reserved_phone="13800000001").tracker()

    first = await run(ActionSubmitCard(), tracker)
    second = await run(ActionSubmitCard(), tracker)

    assert first.responses == second.responses == ["utter_card_bound"]
    assert len(await verified_bank.cards("cust-good")) == 3


@pytest.mark.parametrize(
    ("number", "phone", "response"),
    [
        (_card("411111111111111"), "13800000001", "utter_error_invalid_card_credit_card"),
        (_card(), "13900000000", "utter_error_invalid_card_reserved_phone_mismatch"),
    ],
)
async def test_submit_card_bank_refusal_is_explained(
    verified_bank: StubBankBackend, number: str, phone: str, response: str
) -> None:
    conversation = _confirmed(card_operation="bind", card_number=number, reserved_phone=phone)

    result = await run(ActionSubmitCard(), conversation.tracker())

    assert result.responses == [response]
    assert len(await verified_bank.cards("cust-good")) == 2


async def test_submit_card_unbinds_once_even_when_retried(verified_bank: StubBankBackend) -> None:
    tracker = _confirmed(card_operation="unbind", card_last4="3213", card_id="card-good-2").tracker()

    first = await run(ActionSubmitCard(), tracker)
    second = await run(ActionSubmitCard(), tracker)

    assert first.responses == second.responses == ["utter_card_unbound"]
    assert [card.card_last4 for card in await verified_bank.cards("cust-good")] == ["7894"]


async def test_submit_card_last_card_with_a_loan_cannot_be_unbound(verified_bank: StubBankBackend) -> None:
    conversation = _confirmed(
        customer="cust-overdue", card_operation="unbind", card_last4="6672", card_id="card-overdue-1"
    )

    result = await run(ActionSubmitCard(), conversation.tracker())

    assert result.responses == ["utter_error_card_required"]


async def test_submit_card_denied_changes_nothing(verified_bank: StubBankBackend) -> None:
    conversation = _confirmed(False, card_operation="bind", card_number=_card(), reserved_phone="13800000001")

    result = await run(ActionSubmitCard(), conversation.tracker())

    assert result.responses == ["utter_card_not_submitted"]
    assert result.slots["card_number"] is None
    assert len(await verified_bank.cards("cust-good")) == 2
