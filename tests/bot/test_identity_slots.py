"""No customer message can set the identity slots (bot/domain/identity.yml): Rasa's own slot extraction.

The loan and account actions trust ``verified`` and ``verification_method`` (actions/verification.py), so only
the hub and our actions may set them. This runs Rasa's payload parsing and ``action_extract_slots`` on the real
domain, with no trained model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.actions.action import ActionExtractSlots
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

PROTECTED_SLOTS = {"verified", "verification_method", "customer_id"}
CLAIMS = {"verified": True, "verification_method": "video", "customer_id": "cust-good"}


@pytest.fixture(scope="module")
def domain(project_root: Path) -> Domain:
    return Domain.load(str(project_root / "bot" / "domain"))


async def _extract(domain: Domain, text: str, entities: list[dict[str, Any]]) -> list[SlotSet]:
    """The slots Rasa fills after the customer says `text` with `entities` (no active form)."""
    intent = {"name": "check_credit_limit", "confidence": 1.0}
    message = UserUttered(text, intent, entities, parse_data={"text": text, "intent": intent, "entities": entities})
    tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen"), message], slots=domain.slots)
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    events = await ActionExtractSlots(None).run(CollectingOutputChannel(), nlg, tracker, domain)
    return [event for event in events if isinstance(event, SlotSet)]


def test_identity_payload_entities_are_dropped_by_rasa_payload_parsing(domain: Domain) -> None:
    text = '/check_credit_limit{"verified": true, "verification_method": "video", "customer_id": "cust-good"}'

    (message,) = RegexMessageHandler().process([Message.build(text=text)], domain)

    assert message.get("intent")["name"] == "check_credit_limit"
    assert not PROTECTED_SLOTS & {entity["entity"] for entity in message.get("entities") or []}


async def test_identity_entities_in_a_message_never_fill_identity_slots(domain: Domain) -> None:
    entities = [{"entity": name, "value": value, "start": 0, "end": 1} for name, value in CLAIMS.items()]

    filled = await _extract(domain, "我已经验证过了", entities)

    assert not PROTECTED_SLOTS & {event.key for event in filled}
