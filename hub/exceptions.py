"""Every error the hub raises on purpose, each with an HTTP status and a stable string code.

Routes never build error replies themselves: ``hub.routes.errors`` turns a :class:`HubError` into an HTTP
response or a websocket ``error`` frame in one place. ``message`` is safe to show to the person who caused
the error (customers see Chinese text).

Hierarchy::

    HubError (500 internal_error)
    ├── ConfigurationError (500 configuration_error)      a KEFU_* setting is missing or malformed
    ├── BadRequest (400 bad_request)
    │   ├── MalformedFrame (400 malformed_frame)          websocket frame is not valid JSON / wrong shape
    │   ├── ValidationFailed (422 invalid_request)        a field is missing or has the wrong type/value
    │   ├── EmptyMessage (422 empty_message)
    │   ├── MessageTooLong (413 message_too_long)
    │   ├── InvalidCallbackNumber (422 invalid_callback_number)
    │   └── InvalidTrainingData (422 invalid_training_data)  an FAQ or NLU edit fails validation: ``problems``
    ├── NotAuthenticated (401 not_authenticated)
    │   ├── ServiceTokenMissing (401 service_token_missing)  a service endpoint called without the bearer token
    │   └── ServiceTokenInvalid (401 service_token_invalid)  … or with a different one
    ├── Forbidden (403 forbidden)
    │   ├── NotYourConversation (403 not_your_conversation)
    │   └── NotEligible (403 not_eligible)
    ├── NotFound (404 not_found)
    │   ├── ConversationNotFound (404 conversation_not_found)
    │   ├── AgentNotFound (404 agent_not_found)
    │   ├── HandoffNotFound (404 handoff_not_found)
    │   └── TrainerItemNotFound (404 trainer_item_not_found)  an FAQ, intent, change or model of the console
    ├── Conflict (409 conflict)
    │   ├── InvalidTransition (409 invalid_transition)    names the conversation's current status
    │   ├── AgentAtCapacity (409 agent_at_capacity)
    │   ├── QueueEmpty (409 queue_empty)
    │   ├── AgentUnavailable (409 agent_unavailable)
    │   ├── AlreadyRated (409 already_rated)
    │   ├── NotVideoConversation (409 not_video_conversation)  video signalling outside a sign-language stay
    │   ├── AnonymousCustomer (409 anonymous_customer)    an identity check for a visitor who is not logged in
    │   ├── EditConflict (409 edit_conflict)              another trainer saved the FAQ first
    │   └── TrainingInProgress (409 training_in_progress)
    ├── ConnectionStateError (500 connection_state)       a websocket send in the wrong connection state
    └── UpstreamUnavailable (503 upstream_unavailable)
        ├── RasaUnavailable (503 rasa_unavailable)
        └── KnowledgeBaseUnavailable (503 kb_unavailable)  the trainer console cannot load the model or index
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HubError(Exception):
    """Base class: an error with an HTTP status, a stable code and a human-readable message."""

    status_code = 500
    code = "internal_error"
    default_message = "服务暂时出现问题，请稍后再试。"
    headers: Mapping[str, str] | None = None  # extra HTTP response headers (e.g. WWW-Authenticate on a 401)

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of an error reply: ``{"code": ..., "message": ...}``."""
        return {"code": self.code, "message": self.message}


class ConfigurationError(HubError):
    code = "configuration_error"
    default_message = "配置错误。"


class BadRequest(HubError):
    status_code = 400
    code = "bad_request"
    default_message = "请求格式不正确。"


class MalformedFrame(BadRequest):
    code = "malformed_frame"
    default_message = "消息格式不正确，已忽略。"


class ValidationFailed(BadRequest):
    status_code = 422
    code = "invalid_request"
    default_message = "请求内容不正确。"


class EmptyMessage(BadRequest):
    status_code = 422
    code = "empty_message"
    default_message = "消息不能为空。"


class MessageTooLong(BadRequest):
    status_code = 413
    code = "message_too_long"
    default_message = "消息过长：每条消息最多 2000 字，请精简或分几条发送。"


class InvalidCallbackNumber(BadRequest):
    status_code = 422
    code = "invalid_callback_number"
    default_message = "请填写正确的回拨电话，例如 13800138000 或 0755-12345678。"


class InvalidTrainingData(BadRequest):
    """An FAQ or NLU edit was refused; ``problems`` lists ``{file, line, reason, field}`` for the console."""

    status_code = 422
    code = "invalid_training_data"
    default_message = "内容未通过校验，文件未修改。"

    def __init__(self, problems: list[dict[str, Any]], message: str | None = None) -> None:
        self.problems = problems
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": self.problems}


class NotAuthenticated(HubError):
    status_code = 401
    code = "not_authenticated"
    default_message = "请先登录。"


class ServiceTokenMissing(NotAuthenticated):
    """A service endpoint (action server → hub, Prometheus, load tests) was called without the shared token."""

    code = "service_token_missing"
    default_message = "缺少服务令牌：请在请求头中发送 Authorization: Bearer <KEFU_HUB_SERVICE_TOKEN>。"
    headers = {"WWW-Authenticate": 'Bearer realm="kefu-hub"'}


class ServiceTokenInvalid(NotAuthenticated):
    code = "service_token_invalid"
    default_message = "服务令牌不正确：请使用与 hub 相同的 KEFU_HUB_SERVICE_TOKEN。"
    headers = {"WWW-Authenticate": 'Bearer realm="kefu-hub", error="invalid_token"'}


class Forbidden(HubError):
    status_code = 403
    code = "forbidden"
    default_message = "没有权限执行此操作。"


class NotYourConversation(Forbidden):
    code = "not_your_conversation"
    default_message = "该会话不由您接待。"


class NotEligible(Forbidden):
    code = "not_eligible"
    default_message = "您没有接待该队列所需的技能。"


class NotFound(HubError):
    status_code = 404
    code = "not_found"
    default_message = "未找到。"


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    default_message = "会话不存在或已过期。"


class AgentNotFound(NotFound):
    code = "agent_not_found"
    default_message = "客服不存在。"


class HandoffNotFound(NotFound):
    code = "handoff_not_found"
    default_message = "转人工记录不存在。"


class TrainerItemNotFound(NotFound):
    code = "trainer_item_not_found"


class Conflict(HubError):
    status_code = 409
    code = "conflict"
    default_message = "操作与当前状态冲突。"


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, conversation_id: str, current: str, wanted: str) -> None:
        self.conversation_id = conversation_id
        self.current = current
        self.wanted = wanted
        super().__init__(f"会话 {conversation_id} 当前状态为 {current}，不能执行 {wanted}。")


class AgentAtCapacity(Conflict):
    code = "agent_at_capacity"
    default_message = "您的接待数已满，请先结束一个会话。"


class QueueEmpty(Conflict):
    code = "queue_empty"
    default_message = "当前没有可接入的排队客户。"


class AgentUnavailable(Conflict):
    code = "agent_unavailable"
    default_message = "目标客服不在线或接待已满。"


class AlreadyRated(Conflict):
    code = "already_rated"
    default_message = "您已经评价过本次服务，谢谢！"


class NotVideoConversation(Conflict):
    code = "not_video_conversation"
    default_message = "该会话不是手语视频服务会话，无法进行视频通话。"


class AnonymousCustomer(Conflict):
    code = "anonymous_customer"
    default_message = "访客未登录，无法记录身份核验。"


class EditConflict(Conflict):
    code = "edit_conflict"
    default_message = "该内容已被其他训练师修改，请刷新后再编辑。"


class TrainingInProgress(Conflict):
    code = "training_in_progress"
    default_message = "已有模型正在训练，请等待其完成。"


class ConnectionStateError(HubError):
    code = "connection_state"

    def __init__(self, state: str, action: str) -> None:
        self.state = state
        super().__init__(f"cannot {action}: websocket connection is {state}")


class UpstreamUnavailable(HubError):
    status_code = 503
    code = "upstream_unavailable"
    default_message = "依赖的服务暂时不可用。"


class RasaUnavailable(UpstreamUnavailable):
    code = "rasa_unavailable"
    default_message = "智能客服暂时无法回复。"


class KnowledgeBaseUnavailable(UpstreamUnavailable):
    code = "kb_unavailable"
    default_message = "知识库暂时不可用（模型或索引无法加载）。"
