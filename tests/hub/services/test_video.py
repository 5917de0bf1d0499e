"""Video signalling: validated, and relayed only between a sign-language stay's customer and its interpreter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.exceptions import (
    HubError,
    InvalidTransition,
    MalformedFrame,
    NotVideoConversation,
    NotYourConversation,
    ValidationFailed,
)
from hub.services import Hub
from hub.services.events import Audience, Subscription
from hub.services.video import MAX_SDP_CHARS, Side, parse_signal
from tests.hub.conftest import add_agent, queue_customer

SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122194687 192.0.2.2 46801 typ host generation 0",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "dLEO",
}
READY = {"type": "rtc_ready", "peer_id": "p-1", "audio": True, "video": True}
OFFER = {"type": "rtc_offer", "call_id": "call-1", "sdp": SDP}


def video_stay(hub: Hub, customer_id: str | None = "cust-deaf") -> str:
    """A customer in the sign-language queue, assigned at once to the online interpreter ``interp``."""
    conversation = hub.customers.start(customer_id)
    hub.conversations.enqueue(
        conversation.id, reason="sign_language", queue="sign_language", skill="interpreter", context={}
    )
    hub.queues.changed("sign_language")
    assert hub.conversations.get(conversation.id).agent_id == "interp"
    return conversation.id


@pytest.fixture
def interpreter(hub: Hub) -> str:
    return add_agent(hub, "interp", skills=("interpreter",), capacity=2).id


async def received(subscription: Subscription) -> list[dict[str, Any]]:
    """The ephemeral frames a connection would be sent now (none if nothing is waiting)."""
    try:
        batch = await asyncio.wait_for(subscription.next_batch(), timeout=0.05)
    except asyncio.TimeoutError:
        return []
    return [frame for frame in batch.frames if frame["type"].startswith("rtc_")]


def customer_view(hub: Hub, conversation_id: str) -> Subscription:
    subscription = hub.bus.subscribe(Audience.CUSTOMER)
    subscription.watch(conversation_id)
    return subscription


async def test_customer_signal_reaches_only_the_interpreter_holding_the_conversation(
    hub: Hub, interpreter: str
) -> None:
    conversation_id = video_stay(hub)
    add_agent(hub, "colleague", skills=("interpreter",))
    holder = hub.bus.subscribe(Audience.AGENT, interpreter)
    colleague = hub.bus.subscribe(Audience.AGENT, "colleague")
    colleague.watch(conversation_id)  # agents may read any transcript, but not its video signalling
    hub.video.from_customer(conversation_id, {**READY, "extra": "<script>"})
    assert await received(holder) == [
        {**READY, "conversation_id": conversation_id, "from": "customer"}  # the extra field is not relayed
    ]
    assert await received(colleague) == []


async def test_interpreter_signal_reaches_the_customer_with_validated_fields(hub: Hub, interpreter: str) -> None:
    conversation_id = video_stay(hub)
    customer = customer_view(hub, conversation_id)
    other_customer = customer_view(hub, video_stay(hub, "cust-good"))
    hub.video.from_agent(interpreter, {**OFFER, "conversation_id": conversation_id})
    hub.video.from_agent(
        interpreter,
        {"type": "rtc_candidate", "conversation_id": conversation_id, "call_id": "call-1", "candidate": CANDIDATE},
    )
    frames = await received(customer)
    assert [f["type"] for f in frames] == ["rtc_offer", "rtc_candidate"]
    assert frames[0] == {**OFFER, "conversation_id": conversation_id, "from": "agent"}
    assert frames[1]["candidate"] == CANDIDATE
    assert await received(other_customer) == []


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("queued", InvalidTransition),
        ("closed", InvalidTransition),
        ("text_conversation", NotVideoConversation),
        ("another_conversation_named", NotYourConversation),
    ],
)
async def test_customer_signals_outside_their_live_video_stay_are_refused(
    hub: Hub, interpreter: str, scenario: str, error: type[HubError]
) -> None:
    holder = hub.bus.subscribe(Audience.AGENT, interpreter)
    frame: dict[str, Any] = dict(READY)
    if scenario == "queued":
        hub.presence.set(interpreter, "away")
        conversation_id = queue_customer(hub, reason="sign_language", queue="sign_language", skill="interpreter")
    elif scenario == "closed":
        conversation_id = video_stay(hub)
        hub.desk.resolve(interpreter, conversation_id, "resolved")
    elif scenario == "text_conversation":
        add_agent(hub, "agent1")
        conversation_id = queue_customer(hub)
    else:
        conversation_id = video_stay(hub, "cust-good")
        frame["conversation_id"] = video_stay(hub)
    await received(holder)  # whatever the setup announced
    with pytest.raises(error):
        hub.video.from_customer(conversation_id, frame)
    assert await received(holder) == []


@pytest.mark.parametrize(
    ("scenario", "error"),
    [("someone_elses", NotYourConversation), ("queued", InvalidTransition), ("closed", InvalidTransition)],
)
async def test_agent_signals_outside_their_live_video_stay_are_refused(
    hub: Hub, interpreter: str, scenario: str, error: type[HubError]
) -> None:
    sender = interpreter
    if scenario == "someone_elses":
        conversation_id = video_stay(hub)
        sender = add_agent(hub, "colleague", skills=("interpreter",)).id
    elif scenario == "queued":
        hub.presence.set(interpreter, "away")
        conversation_id = queue_customer(hub, reason="sign_language", queue="sign_language", skill="interpreter")
    else:
        conversation_id = video_stay(hub)
        hub.desk.resolve(interpreter, conversation_id, "resolved")
    customer = customer_view(hub, conversation_id)
    with pytest.raises(error):
        hub.video.from_agent(sender, {**OFFER, "conversation_id": conversation_id})
    assert await received(customer) == []


@pytest.mark.parametrize(
    ("frame", "side"),
    [
        (OFFER, Side.CUSTOMER),  # only the interpreter calls
        ({"type": "rtc_answer", "call_id": "c", "sdp": SDP}, Side.AGENT),  # only the customer answers
        ({**OFFER, "sdp": "hello"}, Side.AGENT),
        ({**OFFER, "sdp": SDP + "a" * MAX_SDP_CHARS}, Side.AGENT),
        ({**OFFER, "call_id": "x" * 65}, Side.AGENT),
        ({**OFFER, "call_id": "call 1"}, Side.AGENT),
        ({**READY, "audio": "yes"}, Side.CUSTOMER),
        ({**READY, "peer_id": None}, Side.CUSTOMER),
        ({"type": "rtc_candidate", "call_id": "c", "candidate": "candidate:1"}, Side.CUSTOMER),
        ({"type": "rtc_candidate", "call_id": "c", "candidate": {**CANDIDATE, "candidate": "a=evil"}}, Side.CUSTOMER),
        ({"type": "rtc_candidate", "call_id": "c", "candidate": {**CANDIDATE, "sdpMLineIndex": True}}, Side.CUSTOMER),
        ({"type": "rtc_candidate", "call_id": "c", "candidate": {"candidate": "", "sdpMid": None}}, Side.CUSTOMER),
        ({"type": "rtc_fallback", "reason": "bored"}, Side.CUSTOMER),
        ({"type": "rtc_media", "audio": True}, Side.AGENT),
    ],
)
def test_malformed_signals_are_refused(frame: dict[str, Any], side: Side) -> None:
    with pytest.raises(ValidationFailed):
        parse_signal(frame, side)


def test_unknown_signal_type_is_a_malformed_frame() -> None:
    with pytest.raises(MalformedFrame):
        parse_signal({"type": "rtc_teleport"}, Side.CUSTOMER)


def test_end_of_candidates_marker_is_accepted() -> None:
    frame = {"type": "rtc_candidate", "call_id": "c", "candidate": {"candidate": "", "sdpMid": "0"}}
    assert parse_signal(frame, Side.AGENT)["candidate"] == {
        "candidate": "",
        "sdpMid": "0",
        "sdpMLineIndex": None,
        "usernameFragment": None,
    }


async def test_fallback_tells_both_sides_why_once_and_keeps_the_interpreter(hub: Hub, interpreter: str) -> None:
    conversation_id = video_stay(hub)
    holder = hub.bus.subscribe(Audience.AGENT, interpreter)
    for _ in range(2):  # e.g. the page reloaded and still found no camera
        hub.video.from_customer(conversation_id, {"type": "rtc_fallback", "reason": "no_camera"})
    frames = await received(holder)
    assert frames[-1] == {
        "type": "rtc_fallback",
        "reason": "no_camera",
        "conversation_id": conversation_id,
        "from": "customer",
        "notice": "客户未检测到摄像头，已切换为文字服务，请通过文字与客户沟通。",  # what the console shows
    }
    notices = [
        m for m in hub.conversations.messages_after(conversation_id, 0, include_notes=False)
        if m.data.get("event") == "video_fallback"
    ]  # fmt: skip
    assert len(notices) == 1
    assert notices[0].text.startswith("未检测到摄像头，已为您切换为文字服务，手语翻译员INTERP将继续通过文字为您服务")
    assert notices[0].data["agent_text"] == "客户未检测到摄像头，已切换为文字服务，请通过文字与客户沟通。"
    conversation = hub.conversations.get(conversation_id)
    assert (conversation.status, conversation.agent_id) == ("agent", interpreter)
    hub.video.from_agent(interpreter, {"type": "rtc_fallback", "reason": "permission_denied",
                                       "conversation_id": conversation_id})  # fmt: skip
    last = hub.conversations.messages_after(conversation_id, 0, include_notes=False)[-1]
    assert last.text.startswith("手语翻译员的摄像头暂时不可用") and last.data["by"] == "agent"


async def test_hang_up_ends_the_video_but_not_the_stay(hub: Hub, interpreter: str) -> None:
    conversation_id = video_stay(hub)
    customer = customer_view(hub, conversation_id)
    hub.video.from_agent(interpreter, {"type": "rtc_hangup", "conversation_id": conversation_id})
    notice = "手语翻译员INTERP已结束视频通话，您可以继续通过文字沟通。"
    assert await received(customer) == [
        {"type": "rtc_hangup", "conversation_id": conversation_id, "from": "agent", "notice": notice}
    ]
    last = hub.conversations.messages_after(conversation_id, 0, include_notes=False)[-1]
    assert last.text == notice
    assert last.data["event"] == "video_ended"
    assert hub.conversations.get(conversation_id).status == "agent"
    hub.desk.send(interpreter, conversation_id, "我们继续文字沟通", client_msg_id=None)


def test_state_says_video_for_sign_language_stays_only(hub: Hub, interpreter: str) -> None:
    conversation_id = video_stay(hub)
    assert hub.conversations.state(hub.conversations.get(conversation_id))["channel"] == "video"
    hub.desk.resolve(interpreter, conversation_id, "resolved")
    assert hub.conversations.state(hub.conversations.get(conversation_id))["channel"] == "text"
    add_agent(hub, "agent1")
    text_id = queue_customer(hub)
    assert hub.conversations.state(hub.conversations.get(text_id))["channel"] == "text"
    assert [c["channel"] for c in hub.desk.mine("agent1")] == ["text"]


def test_ice_servers_come_from_the_settings(hub: Hub) -> None:
    assert hub.video.ice_servers() == []
