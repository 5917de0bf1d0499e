"""Customer-facing Chinese text the hub itself writes (system messages, queue banners, labels).

The bot's own answers live in the Rasa domain (``bot/domain/*.yml``); canned agent replies in
``hub/data/canned_replies.yml``. Keep hub wording here so it can be reviewed in one place.
"""

from __future__ import annotations

QUEUED = "已为您转接人工客服，请稍候。排队期间您可以继续留言，客服接入后会看到完整的对话记录。"
QUEUED_SIGN_LANGUAGE = "已为您转接手语视频服务，请稍候，手语翻译员接入后将与您视频沟通。"
ASSIGNED = "客服{agent_name}已接入，很高兴为您服务。"
ASSIGNED_INTERPRETER = "手语翻译员{agent_name}已接入，将通过视频为您提供手语服务。"
TRANSFERRING_TO_AGENT = "正在为您转接客服{agent_name}，请稍候。"
TRANSFERRING_TO_QUEUE = "正在为您转接其他客服，请稍候。"
REQUEUED_AGENT_LEFT = "当前客服暂时离开，已为您重新排队，您的排队位置已保留。"
RESOLVED = "本次人工服务已结束，感谢您的耐心。请为本次服务打分（1–5 分），之后智能客服小微将继续为您服务。"
RATED = "感谢您的评价！"
CANCELLED = "已取消排队，智能客服小微继续为您服务。"
ABANDONED = "由于您长时间未在线，已为您退出排队。如仍需人工服务，请点击“转人工”。"
BOT_UNAVAILABLE = "抱歉，智能客服暂时无法回复。您可以稍后再试，或点击“转人工”联系人工客服。"

TICKET_OFFER_AFTER_HOURS = (
    "现在不在{service}服务时间（每天 {hours}）。您可以留言并留下回拨电话，我们会在服务时间内尽快联系您。"
)
TICKET_OFFER_NO_AGENTS = "当前暂无{service}在线。您可以留言并留下回拨电话，我们会尽快联系您。"
TICKET_OFFER_LONG_WAIT = "当前排队人数较多。您可以继续等待，也可以留言并留下回拨电话，我们会尽快联系您。"
TICKET_CREATED = "已收到您的留言，我们会尽快致电 {masked_number} 与您联系。"

QUEUE_BANNER = "前面还有 {ahead} 位，预计等待约 {minutes} 分钟"

SERVICE_NAMES = {"human": "人工客服", "sign_language": "手语视频服务"}

REASON_LABELS = {
    "explicit_request": "客户要求转人工",
    "fallback": "机器人无法理解",
    "kb_no_answer": "知识库无答案",
    "complaint": "投诉",
    "fraud": "欺诈 / 挂失",
    "backend_failure": "系统故障",
    "identity_locked": "身份验证锁定",
    "sign_language": "手语视频服务",
}

DISPOSITIONS = {
    "resolved": "已解决",
    "follow_up": "需后续跟进",
    "callback": "需回电",
    "complaint_filed": "已登记投诉",
    "fraud_frozen": "已冻结 / 挂失",
    "no_response": "客户无回应",
    "other": "其他",
}


def mask_number(number: str) -> str:
    """``13800138000`` → ``138****8000``: enough for the customer to recognise, not enough to leak."""
    digits = number.replace("-", "")
    if len(digits) <= 7:
        return digits[:2] + "*" * (len(digits) - 2)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
