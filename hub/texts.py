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

# -- sign-language video (hub/services/video.py, hub/services/identity_checks.py) ------------------------------
# System messages the hub stores about a video call: ``text`` is what the customer reads; the console shows
# ``data.agent_text`` instead, written for the interpreter. Keys: (who could not do video, why).
VIDEO_FALLBACK: dict[tuple[str, str], tuple[str, str]] = {
    ("customer", "no_camera"): (
        "未检测到摄像头，已为您切换为文字服务，手语翻译员{agent_name}将继续通过文字为您服务。",
        "客户未检测到摄像头，已切换为文字服务，请通过文字与客户沟通。",
    ),
    ("customer", "permission_denied"): (
        "您未允许使用摄像头，已为您切换为文字服务，手语翻译员{agent_name}将继续通过文字为您服务。"
        "如需视频，请在浏览器中允许使用摄像头后点击“重新开始视频”。",
        "客户未允许使用摄像头，已切换为文字服务，请通过文字与客户沟通。",
    ),
    ("customer", "unsupported"): (
        "您的浏览器不支持视频通话，已为您切换为文字服务，手语翻译员{agent_name}将继续通过文字为您服务。",
        "客户的浏览器不支持视频通话，已切换为文字服务，请通过文字与客户沟通。",
    ),
    ("customer", "connection_failed"): (
        "视频连接失败，已为您切换为文字服务，手语翻译员{agent_name}将继续通过文字为您服务。",
        "视频连接失败（双方网络无法直连，可能需要配置 TURN 服务器），已切换为文字服务。",
    ),
    ("agent", "no_camera"): (
        "手语翻译员的摄像头暂时不可用，已为您切换为文字服务，翻译员{agent_name}将继续通过文字为您服务。",
        "未检测到您的摄像头，已切换为文字服务，请通过文字与客户沟通。",
    ),
    ("agent", "permission_denied"): (
        "手语翻译员的摄像头暂时不可用，已为您切换为文字服务，翻译员{agent_name}将继续通过文字为您服务。",
        "您未允许浏览器使用摄像头，已切换为文字服务。允许后可点击“重新开始视频”。",
    ),
    ("agent", "unsupported"): (
        "手语翻译员的摄像头暂时不可用，已为您切换为文字服务，翻译员{agent_name}将继续通过文字为您服务。",
        "您的浏览器不支持视频通话，已切换为文字服务。",
    ),
    ("agent", "connection_failed"): (
        "视频连接失败，已为您切换为文字服务，手语翻译员{agent_name}将继续通过文字为您服务。",
        "视频连接失败（双方网络无法直连，可能需要配置 TURN 服务器），已切换为文字服务。",
    ),
}
# Keys: who hung up.
VIDEO_ENDED: dict[str, tuple[str, str]] = {
    "customer": (
        "您已结束视频通话。手语翻译员{agent_name}仍在线，您可以继续通过文字沟通，或点击“重新开始视频”。",
        "客户已结束视频通话，可继续文字沟通；服务完成后请点击“结束服务”。",
    ),
    "agent": (
        "手语翻译员{agent_name}已结束视频通话，您可以继续通过文字沟通。",
        "您已结束视频通话，可继续文字沟通；服务完成后请点击“结束服务”。",
    ),
}
IDENTITY_VERIFIED = "手语翻译员{agent_name}已通过视频核验您的身份。本次服务结束后，智能客服小微将继续为您办理业务。"
IDENTITY_VERIFIED_AGENT = "已记录：客户身份已通过视频核验（{agent_name}，{time}）。结束服务后机器人将据此继续办理。"

# The widget's video panel and the sign-language suggestion (served by GET /api/video with the ICE servers).
VIDEO_WIDGET = {
    "region": "手语视频",
    "remote": "手语翻译员的画面",
    "local": "我的画面",
    "controls": "视频通话控制",
    "mic_off": "关闭麦克风",
    "camera_off": "关闭摄像头",
    "hang_up": "挂断视频",
    "restart": "重新开始视频",
    "unmute_remote": "开启对方声音",
    "starting": "正在打开摄像头，如浏览器询问，请选择“允许”…",
    "waiting": "摄像头已打开，正在等待手语翻译员接通视频…",
    "connecting": "正在接通视频…",
    "connected": "视频已接通",
    "unstable": "视频连接不稳定，正在重新连接…",
    "ended": "视频通话已结束，您可以继续通过文字沟通。",
    "invited": "手语翻译员邀请您重新开始视频，请点击“重新开始视频”。",
    "peer_camera_off": "翻译员已关闭摄像头",
    "peer_mic_off": "翻译员已关闭麦克风",
    "no_camera": "未检测到摄像头，已为您切换为文字服务。",
    "permission_denied": "您未允许使用摄像头，已为您切换为文字服务。",
    "unsupported": "您的浏览器不支持视频通话，已为您切换为文字服务。",
    "connection_failed": "视频连接失败，已为您切换为文字服务。",
    "peer_fallback": "手语翻译员的视频暂时不可用，已为您切换为文字服务，翻译员会继续通过文字为您服务。",
    "queued": "正在为您转接手语视频服务…",
    "serving": "手语翻译员 {agent_name} 正在为您服务",
    "suggest": "您好！您的资料显示您偏好手语服务。需要为您接通手语视频服务吗？",
    "suggest_accept": "接通手语视频服务",
    "suggest_decline": "暂不需要",
    "suggest_label": "手语视频服务建议",
}

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
