"""Identity checks by the interpreter: recorded once per stay with who and when, and handed to Rasa on resolve."""

from __future__ import annotations

import pytest

from hub.exceptions import (
    AnonymousCustomer,
    HubError,
    InvalidTransition,
    NotVideoConversation,
    NotYourConversation,
    ValidationFailed,
)
from hub.services import Hub
from hub.services.clock import FakeClock
from hub.services.rasa import RecordingTrackerSync
from tests.hub.conftest import add_agent, queue_customer
from tests.hub.services.test_video import video_stay


@pytest.fixture
def interpreter(hub: Hub) -> str:
    return add_agent(hub, "interp", skills=("interpreter",), capacity=2).id


def test_identity_check_is_recorded_once_with_who_and_when(hub: Hub, clock: FakeClock, interpreter: str) -> None:
    conversation_id = video_stay(hub)
    check, created = hub.identity_checks.record(interpreter, conversation_id, "video")
    assert created
    assert (check.agent_id, check.customer_id, check.method, check.checked_at) == (
        interpreter, "cust-deaf", "video", clock.now(),
    )  # fmt: skip
    clock.advance(minutes=1)
    again, created_again = hub.identity_checks.record(interpreter, conversation_id, "video")
    assert not created_again and again == check
    notices = [
        m for m in hub.conversations.messages_after(conversation_id, 0, include_notes=False)
        if m.data.get("event") == "identity_verified"
    ]  # fmt: skip
    assert len(notices) == 1
    assert notices[0].text.startswith("手语翻译员INTERP已通过视频核验您的身份")
    assert notices[0].data["agent_text"].startswith("已记录：客户身份已通过视频核验（INTERP，10:00）")
    assert hub.desk.detail(conversation_id)["identity_check"]["agent_name"] == "INTERP"


def test_resolving_a_verified_stay_sets_verified_on_rasa_before_resuming(
    hub: Hub, tracker: RecordingTrackerSync, interpreter: str
) -> None:
    conversation_id = video_stay(hub)
    hub.identity_checks.record(interpreter, conversation_id)
    hub.desk.resolve(interpreter, conversation_id, "resolved")
    assert tracker.slots == [(conversation_id, {"verified": True, "verification_method": "video"})]
    assert tracker.events[-1] == (conversation_id, "resume")


def test_resolving_an_unverified_stay_sets_no_slots(hub: Hub, tracker: RecordingTrackerSync, interpreter: str) -> None:
    conversation_id = video_stay(hub)
    hub.desk.resolve(interpreter, conversation_id, "resolved")
    assert tracker.slots == []


def test_a_check_survives_a_transfer_to_a_colleague_and_is_sent_when_they_resolve(
    hub: Hub, tracker: RecordingTrackerSync, interpreter: str
) -> None:
    conversation_id = video_stay(hub)
    hub.identity_checks.record(interpreter, conversation_id)
    add_agent(hub, "colleague", skills=("interpreter",))
    hub.desk.transfer(interpreter, conversation_id, to_agent="colleague")
    hub.desk.resolve("colleague", conversation_id, "resolved")
    assert tracker.slots == [(conversation_id, {"verified": True, "verification_method": "video"})]


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("someone_elses", NotYourConversation),
        ("queued", InvalidTransition),
        ("text_conversation", NotVideoConversation),
        ("anonymous", AnonymousCustomer),
        ("unknown_method", ValidationFailed),
    ],
)
def test_identity_check_is_refused_outside_ones_own_video_stay(
    hub: Hub, interpreter: str, scenario: str, error: type[HubError]
) -> None:
    agent, method = interpreter, "video"
    if scenario == "someone_elses":
        conversation_id = video_stay(hub)
        agent = add_agent(hub, "colleague", skills=("interpreter",)).id
    elif scenario == "queued":
        hub.presence.set(interpreter, "away")
        conversation_id = queue_customer(hub, reason="sign_language", queue="sign_language", skill="interpreter")
    elif scenario == "text_conversation":
        agent = add_agent(hub, "agent1").id
        conversation_id = queue_customer(hub)
    elif scenario == "anonymous":
        conversation_id = video_stay(hub, customer_id=None)
    else:
        conversation_id = video_stay(hub)
        method = "sms"
    with pytest.raises(error):
        hub.identity_checks.record(agent, conversation_id, method)
    assert hub.desk.detail(conversation_id)["identity_check"] is None
