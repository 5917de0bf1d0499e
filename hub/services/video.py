"""Sign-language video: the hub relays WebRTC signalling between a customer and their interpreter.

Audio and video flow browser to browser (``RTCPeerConnection``); the hub only passes on what the two pages
need to find each other, over the websockets they already have, and only between the two people of one stay:

- a customer's signal goes to the agent who holds the conversation (``EventBus.publish_to_agent``), to no
  other agent, not even one watching the conversation;
- an agent's signal goes to the conversation's customer, and only if that agent holds the conversation;
- only while the conversation is with an agent (status ``agent``) of the sign-language queue. Anything else
  (queued, closed, a text conversation, someone else's conversation) raises, the route answers with an
  ``error`` frame, and nothing is relayed.

Frames, client → hub. The hub passes on only the validated fields, adding ``conversation_id`` and ``from``
(``customer`` / ``agent``):

=============  ==========================  ========  ==========================================================
type           fields                      sent by   meaning
=============  ==========================  ========  ==========================================================
rtc_ready      peer_id, audio, video       both      my camera is on. The interpreter calls a customer peer_id
                                                     it has not called yet; a customer answers an interpreter's
                                                     rtc_ready with its own (so either may open first)
rtc_offer      call_id, sdp                agent     the interpreter calls (always the caller: no glare)
rtc_answer     call_id, sdp                customer  the customer answers that call
rtc_candidate  call_id, candidate          both      one trickled ICE candidate of that call
rtc_media      audio, video                both      microphone / camera switched on or off (shown to the other)
rtc_hangup     —                           both      the video ends, the text chat goes on (stored notice)
rtc_fallback   reason                      both      no camera, permission denied, unsupported browser or
                                                     failed connection: text only from now on (stored notice)
=============  ==========================  ========  ==========================================================

Hang-up and fallback also store a system message, so both sides (and the transcript) say what happened and
why; the customer reads ``text``, the console shows ``data.agent_text``, and the relayed frame carries the
recipient's version as ``notice``. Ending the stay is the agent's "resolve", as for any handoff: the
conversation goes back to the bot.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub import texts
from hub.exceptions import (
    ConversationNotFound,
    InvalidTransition,
    MalformedFrame,
    NotVideoConversation,
    NotYourConversation,
    ValidationFailed,
)
from hub.services.conversations import VIDEO_QUEUE, ConversationService
from hub.services.events import Audience, EventBus
from hub.storage import Conversation, Handoff, Store

SIGNAL_TYPES = frozenset(
    {"rtc_ready", "rtc_offer", "rtc_answer", "rtc_candidate", "rtc_media", "rtc_hangup", "rtc_fallback"}
)
FALLBACK_REASONS = ("no_camera", "permission_denied", "unsupported", "connection_failed")

# An offer or answer for one audio and one video track is 3–8 KB of SDP; four times that leaves room for
# browsers that list many codecs, and still fits well inside one websocket frame (MAX_FRAME_BYTES, 64 KB).
MAX_SDP_CHARS = 32 * 1024
# One ICE candidate line is under 300 characters; 1 KB leaves room for long IPv6 or mDNS host names.
MAX_CANDIDATE_CHARS = 1024
# RFC 8839: ice-ufrag is 4–256 characters. Media ids ("0", "1", "audio") are short.
MAX_UFRAG_CHARS = 256
MAX_MID_CHARS = 32
# A call has two media sections; 64 m-lines would already be absurd.
MAX_MLINE_INDEX = 63
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Side(enum.Enum):
    CUSTOMER = "customer"
    AGENT = "agent"


# The interpreter always makes the offer and the customer always answers: a customer cannot start or
# renegotiate a call on their own, and the two never offer at once.
_SENT_BY = {
    Side.CUSTOMER: SIGNAL_TYPES - {"rtc_offer"},
    Side.AGENT: SIGNAL_TYPES - {"rtc_answer"},
}


@dataclass(frozen=True)
class VideoStay:
    """A conversation that is, right now, a video call between its customer and its interpreter."""

    conversation: Conversation
    handoff: Handoff
    agent_id: str
    agent_name: str


def parse_signal(frame: Mapping[str, Any], side: Side) -> dict[str, Any]:
    """The validated fields of a signalling frame from ``side`` (only those are relayed).

    Raises MalformedFrame for an unknown type and ValidationFailed for a missing or wrong field.
    """
    kind = frame.get("type")
    if kind not in SIGNAL_TYPES:
        raise MalformedFrame(f"未知的视频信令类型：{str(kind)[:32]}")
    if kind not in _SENT_BY[side]:
        raise ValidationFailed(f"{kind} cannot be sent by the {side.value}")
    clean: dict[str, Any] = {"type": kind}
    if kind == "rtc_ready":
        clean["peer_id"] = _token(frame, "peer_id")
        clean.update(_media_state(frame))
    elif kind in ("rtc_offer", "rtc_answer"):
        clean["call_id"] = _token(frame, "call_id")
        clean["sdp"] = _sdp(frame.get("sdp"))
    elif kind == "rtc_candidate":
        clean["call_id"] = _token(frame, "call_id")
        clean["candidate"] = _candidate(frame.get("candidate"))
    elif kind == "rtc_media":
        clean.update(_media_state(frame))
    elif kind == "rtc_fallback":
        reason = frame.get("reason")
        if reason not in FALLBACK_REASONS:
            raise ValidationFailed(f"reason must be one of {', '.join(FALLBACK_REASONS)}")
        clean["reason"] = reason
    return clean


def _token(frame: Mapping[str, Any], key: str) -> str:
    value = frame.get(key)
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise ValidationFailed(f"{key} must be 1–64 letters, digits, _ or -")
    return value


def _media_state(frame: Mapping[str, Any]) -> dict[str, bool]:
    audio, video = frame.get("audio"), frame.get("video")
    if not isinstance(audio, bool) or not isinstance(video, bool):
        raise ValidationFailed("audio and video must be true or false")
    return {"audio": audio, "video": video}


def _sdp(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("v=0") or len(value) > MAX_SDP_CHARS:
        raise ValidationFailed(f"sdp must be a session description of at most {MAX_SDP_CHARS} characters")
    return value


def _candidate(value: Any) -> dict[str, Any]:
    """An RTCIceCandidateInit; an empty ``candidate`` string is the end-of-candidates marker."""
    if not isinstance(value, Mapping):
        raise ValidationFailed("candidate must be an object")
    line = value.get("candidate")
    if not isinstance(line, str) or len(line) > MAX_CANDIDATE_CHARS or (line and not line.startswith("candidate:")):
        raise ValidationFailed("candidate.candidate must be an ICE candidate line")
    mid = value.get("sdpMid")
    if mid is not None and (not isinstance(mid, str) or len(mid) > MAX_MID_CHARS):
        raise ValidationFailed("candidate.sdpMid must be a short string")
    index = value.get("sdpMLineIndex")
    if index is not None and (
        not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_MLINE_INDEX
    ):
        raise ValidationFailed("candidate.sdpMLineIndex must be a small integer")
    if mid is None and index is None:
        raise ValidationFailed("candidate needs sdpMid or sdpMLineIndex")
    ufrag = value.get("usernameFragment")
    if ufrag is not None and (not isinstance(ufrag, str) or len(ufrag) > MAX_UFRAG_CHARS):
        raise ValidationFailed("candidate.usernameFragment must be a string")
    return {"candidate": line, "sdpMid": mid, "sdpMLineIndex": index, "usernameFragment": ufrag}


class VideoService:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        conversations: ConversationService,
        ice_servers: Sequence[Mapping[str, Any]],
    ) -> None:
        self.store = store
        self.bus = bus
        self.conversations = conversations
        self._ice_servers = [dict(server) for server in ice_servers]

    def ice_servers(self) -> list[dict[str, Any]]:
        """The RTCIceServer list both pages pass to ``new RTCPeerConnection`` (KEFU_HUB_ICE_SERVERS)."""
        return [dict(server) for server in self._ice_servers]

    def from_customer(self, conversation_id: str, frame: Mapping[str, Any]) -> None:
        """Relay a customer's signal to the interpreter who holds their conversation, and nobody else.

        The customer's connection belongs to ``conversation_id``; a frame naming another conversation is
        refused rather than ignored.
        """
        named = frame.get("conversation_id")
        if named is not None and named != conversation_id:
            raise NotYourConversation("只能与本会话的手语翻译员进行视频通话。")
        signal = parse_signal(frame, Side.CUSTOMER)
        stay = self._stay(conversation_id, signal["type"])
        relayed = {**signal, "conversation_id": conversation_id, "from": "customer"}
        notice = self._store_notice(stay, Side.CUSTOMER, signal)
        if notice is not None:
            relayed["notice"] = notice[1]
        self.bus.publish_to_agent(stay.agent_id, relayed)

    def from_agent(self, agent_id: str, frame: Mapping[str, Any]) -> None:
        """Relay an interpreter's signal to the customer of a conversation the interpreter holds."""
        conversation_id = frame.get("conversation_id")
        if not isinstance(conversation_id, str):
            raise ValidationFailed("conversation_id must be a string")
        signal = parse_signal(frame, Side.AGENT)
        stay = self._stay(conversation_id, signal["type"], agent_id=agent_id)
        relayed = {**signal, "conversation_id": conversation_id, "from": "agent"}
        notice = self._store_notice(stay, Side.AGENT, signal)
        if notice is not None:
            relayed["notice"] = notice[0]
        self.bus.publish(conversation_id, relayed, Audience.CUSTOMER)

    def _stay(self, conversation_id: str, action: str, *, agent_id: str | None = None) -> VideoStay:
        """The conversation as a live video stay, checked in this order: exists, with an agent, held by
        ``agent_id`` (when an agent sends), in the sign-language queue."""
        with self.store.transaction() as tx:
            conversation = tx.conversation(conversation_id)
            if conversation is None:
                raise ConversationNotFound()
            if conversation.status != "agent" or conversation.agent_id is None:
                raise InvalidTransition(conversation_id, conversation.status, action)
            if agent_id is not None and conversation.agent_id != agent_id:
                raise NotYourConversation()
            handoff = tx.handoff(conversation.handoff_id) if conversation.handoff_id is not None else None
            if handoff is None or handoff.queue != VIDEO_QUEUE:
                raise NotVideoConversation()
            agent = tx.agent(conversation.agent_id)
        name = agent.display_name if agent is not None else conversation.agent_id
        return VideoStay(conversation, handoff, conversation.agent_id, name)

    def _store_notice(self, stay: VideoStay, side: Side, signal: Mapping[str, Any]) -> tuple[str, str] | None:
        """Hang-up and fallback are part of the record: store a system message before relaying.

        Returns the notice as the customer and as the interpreter read it (None for other signals).
        """
        data: dict[str, Any] = {"by": side.value, "handoff_id": stay.handoff.id}
        client_msg_id = None
        if signal["type"] == "rtc_fallback":
            reason = signal["reason"]
            customer_text, agent_text = texts.VIDEO_FALLBACK[(side.value, reason)]
            data.update(event="video_fallback", reason=reason)
            # Once per stay, side and reason: a reload that finds no camera again adds nothing new.
            client_msg_id = f"video-fallback-{stay.handoff.id}-{side.value}-{reason}"
        elif signal["type"] == "rtc_hangup":
            customer_text, agent_text = texts.VIDEO_ENDED[side.value]
            data["event"] = "video_ended"
        else:
            return None
        customer_text = customer_text.format(agent_name=stay.agent_name)
        data["agent_text"] = agent_text = agent_text.format(agent_name=stay.agent_name)
        self.conversations.post(
            stay.conversation.id,
            sender="system",
            kind="event",
            text=customer_text,
            data=data,
            client_msg_id=client_msg_id,
        )
        return customer_text, agent_text
