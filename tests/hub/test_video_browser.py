"""Sign-language video end to end: the customer widget and the interpreter's console in two headless Chromium
contexts, with Chromium's fake camera and microphone, against a hub subprocess and the fake Rasa.

Screenshots go to test-artifacts/hub/ (video-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.hub.support.fake_rasa import FakeRasa
from tests.hub.support.hub_process import HubProcess
from tests.hub.support.servers import ThreadedServer
from tests.support.servers import PROJECT_ROOT, free_port

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
FAKE_CAMERA = "--use-fake-device-for-media-stream"  # a test-pattern camera and a beeping microphone
FAKE_PERMISSION_PROMPT = "--use-fake-ui-for-media-stream"  # answers "allow" to every camera prompt
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "hub"
# Fake Rasa + action round trip, ICE on loopback and the first decoded frames take a few seconds on 2 cores.
UI_TIMEOUT_MS = 20_000
# How long the remote video must keep playing to count as "showing frames".
PLAYBACK_SAMPLE_MS = 1_500
# Tracker events reach the fake Rasa within milliseconds; poll every 100 ms for up to 5 s.
RASA_POLLS = 50

# The video panels' data-state is the RTCPeerConnection's connectionState while a call is up (CSS locators
# reach into the widget's open shadow root).
WIDGET_VIDEO, WIDGET_REMOTE = ".kefu-video", ".kefu-remote"
CONSOLE_VIDEO, CONSOLE_REMOTE = "#video", "#remote-video"
# A <video> showing frames: it knows the picture's size and its clock moves.
PLAYING = """async (video, sampleMs) => {
  const before = video.currentTime;
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  return { width: video.videoWidth, height: video.videoHeight, before: before, after: video.currentTime };
}"""
# An interpreter's browser that has no camera at all.
NO_CAMERA_SCRIPT = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Requested device not found", "NotFoundError"));"""


@dataclass
class Hub:
    process: HubProcess
    rasa: FakeRasa

    @property
    def url(self) -> str:
        return self.process.url


@pytest.fixture
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A fresh hub per test (interpreter1 serves one customer at a time) with the fake Rasa beside it."""
    rasa = FakeRasa()
    with ThreadedServer(rasa.app) as rasa_server, pytest.MonkeyPatch.context() as patch:
        port = free_port()
        patch.setenv("KEFU_HUB_URL", f"http://127.0.0.1:{port}")  # where the fake Rasa's action_handoff posts
        process = HubProcess(tmp_path_factory.mktemp("hub-video"), {"KEFU_RASA_URL": rasa_server.url}, port=port)
        process.start()
        try:
            yield Hub(process, rasa)
        finally:
            process.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def media_browser(playwright: Playwright) -> Iterator[Browser]:
    """Fake camera and microphone, and every camera prompt answered "allow"."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, FAKE_CAMERA, FAKE_PERMISSION_PROMPT]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def prompting_browser(playwright: Playwright) -> Iterator[Browser]:
    """Fake devices but real permission prompts: only contexts granted camera and microphone get them."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, FAKE_CAMERA])
    yield browser
    browser.close()


@pytest.fixture
def opened() -> Iterator[list[BrowserContext]]:
    """Browser contexts a test opened, closed after it (camera and microphone released)."""
    contexts: list[BrowserContext] = []
    yield contexts
    for context in contexts:
        context.close()


def new_context(
    browser: Browser, opened: list[BrowserContext], *, allow_media: bool = True, init_script: str | None = None
) -> BrowserContext:
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 1400, "height": 900},
        permissions=["camera", "microphone"] if allow_media else [],
    )
    if not allow_media:
        context.grant_permissions([])  # and the prompt is answered "block"
    if init_script:
        context.add_init_script(init_script)
    context.set_default_timeout(UI_TIMEOUT_MS)
    opened.append(context)
    return context


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def interpreter_console(context: BrowserContext, hub: Hub) -> Page:
    """interpreter1 logged in and on 小休, so a customer waits in line until accepted."""
    page = context.new_page()
    page.goto(f"{hub.url}/agent/login")
    page.get_by_label("用户名").fill("interpreter1")
    page.get_by_label("密码").fill("kefu-interpreter1")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#connection")).to_have_text("已连接")
    page.get_by_label("状态").select_option("away")
    return page


def deaf_customer(context: BrowserContext, hub: Hub) -> Page:
    """The demo page as cust-deaf (听障客户, prefers sign language)."""
    page = context.new_page()
    page.goto(f"{hub.url}/")
    page.get_by_label("cust-deaf · 听障客户（偏好手语）").check()
    page.get_by_role("button", name="以此身份开始新会话").click()
    return page


def customer_log(customer: Page) -> str:
    return customer.get_by_role("log", name="对话记录").inner_text()


def queue_and_accept(customer: Page, console: Page) -> None:
    """The customer (already asking for sign language) waits in line; the interpreter accepts."""
    expect(customer.get_by_role("status").filter(has_text="前面还有 0 位，预计等待约 3 分钟")).to_be_visible()
    expect(console.get_by_role("list", name="手语视频服务排队列表")).to_contain_text("客户 cust-deaf")
    console.get_by_role("button", name="接入下一位").click()
    expect(customer.get_by_role("status").filter(has_text="手语翻译员 王芳（手语） 正在为您服务")).to_be_visible()


def talk_in_text(customer: Page, console: Page) -> None:
    console.get_by_label("回复内容").fill("您好，我是手语翻译员王芳，我们用文字沟通。")
    console.get_by_label("回复内容").press("Enter")
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("我们用文字沟通")
    customer.get_by_label("消息内容").fill("好的，我想申请贷款")
    customer.get_by_label("消息内容").press("Enter")
    expect(console.get_by_role("log", name="会话记录")).to_contain_text("好的，我想申请贷款")


def assert_remote_video_plays(page: Page, selector: str) -> None:
    sample = page.locator(selector).evaluate(PLAYING, PLAYBACK_SAMPLE_MS)
    assert sample["width"] > 0 and sample["height"] > 0, sample
    assert sample["after"] > sample["before"], sample


def test_video_call_connects_both_ways_and_the_interpreter_verifies_identity(
    hub: Hub, media_browser: Browser, opened: list[BrowserContext]
) -> None:
    console = interpreter_console(new_context(media_browser, opened), hub)
    customer = deaf_customer(new_context(media_browser, opened), hub)

    # cust-deaf prefers sign language: the widget suggests the video service before they ask.
    suggestion = customer.get_by_role("group", name="手语视频服务建议")
    expect(suggestion).to_contain_text("偏好手语服务")
    suggestion.get_by_role("button", name="接通手语视频服务").click()
    queue_and_accept(customer, console)

    # Both pages open their cameras and connect peer to peer; each shows the other's moving picture.
    expect(console.locator(CONSOLE_VIDEO)).to_have_attribute("data-state", "connected")
    expect(customer.locator(WIDGET_VIDEO)).to_have_attribute("data-state", "connected")
    assert_remote_video_plays(console, CONSOLE_REMOTE)
    assert_remote_video_plays(customer, WIDGET_REMOTE)
    expect(customer.get_by_role("region", name="手语视频").get_by_role("status")).to_have_text("视频已接通")

    # Beside the video the interpreter has the handoff context with the bot transcript, and can write.
    context_panel = console.get_by_role("complementary", name="转人工上下文")
    expect(context_panel).to_contain_text("手语视频服务")
    expect(context_panel.get_by_role("listitem").filter(has_text="客户：/request_sign_language")).to_be_visible()
    talk_in_text(customer, console)

    # Mute from the keyboard: the button says it is pressed and the interpreter is told.
    microphone = customer.get_by_role("button", name="关闭麦克风")
    microphone.focus()
    customer.keyboard.press("Space")
    expect(microphone).to_have_attribute("aria-pressed", "true")
    expect(console.locator("#peer-state")).to_have_text("客户已关闭麦克风")

    # The interpreter checked the customer's ID on camera and records it.
    console.get_by_label("我已在视频中核对客户本人与身份证件一致").check()
    console.get_by_role("button", name="记录身份已核验").click()
    expect(console.locator("#identity-status")).to_contain_text("已核验：王芳（手语）")
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("已通过视频核验您的身份")
    shot(customer, "video-01-customer-connected")
    shot(console, "video-02-interpreter-connected")

    # The customer hangs up: the video ends on both sides, the text chat stays with the interpreter.
    customer.get_by_role("button", name="挂断视频").click()
    expect(console.locator("#video-status")).to_have_text(
        "客户已结束视频通话，可继续文字沟通；服务完成后请点击“结束服务”。"
    )
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("您已结束视频通话")
    expect(customer.get_by_role("button", name="重新开始视频")).to_be_focused()
    customer.get_by_label("消息内容").fill("视频挂断后还能打字吗")
    customer.get_by_label("消息内容").press("Enter")
    expect(console.get_by_role("log", name="会话记录")).to_contain_text("视频挂断后还能打字吗")

    # The interpreter resolves: back to the bot, which is told the customer is verified.
    console.get_by_label("处理结果").select_option("resolved")
    console.get_by_role("button", name="结束服务").click()
    expect(customer.get_by_role("button", name="评 5 分")).to_be_visible()
    expect(customer.get_by_role("region", name="手语视频")).to_be_hidden()
    expect(console.locator("#video")).to_be_hidden()
    conversation_id = customer.evaluate("window.KefuWidget.conversationId")
    for _ in range(RASA_POLLS):  # the hub posts tracker events in the background
        if hub.rasa.tracker_events[conversation_id][-1:] == ["resume"]:
            break
        customer.wait_for_timeout(100)
    assert hub.rasa.slots[conversation_id] == {"verified": True, "verification_method": "video"}
    assert hub.rasa.tracker_events[conversation_id] == ["pause", "slot", "slot", "resume"]
    shot(customer, "video-03-customer-after-resolve")


def test_customer_who_blocks_the_camera_continues_in_text_with_the_same_interpreter(
    hub: Hub, prompting_browser: Browser, opened: list[BrowserContext]
) -> None:
    console = interpreter_console(new_context(prompting_browser, opened), hub)
    customer = deaf_customer(new_context(prompting_browser, opened, allow_media=False), hub)
    customer.get_by_role("button", name="手语视频服务（视频手语翻译）").click()
    queue_and_accept(customer, console)

    # Both sides are told why, in the video panel and in the transcript.
    video = customer.get_by_role("region", name="手语视频")
    expect(video.get_by_role("alert")).to_have_text("您未允许使用摄像头，已为您切换为文字服务。")
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("您未允许使用摄像头，已为您切换为文字服务")
    expect(console.locator("#video-status")).to_have_text(
        "客户未允许使用摄像头，已切换为文字服务，请通过文字与客户沟通。"
    )
    expect(console.get_by_role("log", name="会话记录")).to_contain_text("客户未允许使用摄像头，已切换为文字服务")
    expect(console.locator("#video")).to_have_attribute("data-state", "ended")
    expect(customer.get_by_role("status").filter(has_text="手语翻译员 王芳（手语） 正在为您服务")).to_be_visible()
    talk_in_text(customer, console)
    expect(video.get_by_role("alert")).to_have_text("您未允许使用摄像头，已为您切换为文字服务。")  # still says why
    shot(customer, "video-04-customer-camera-blocked")

    # A reload keeps the text service and the reason; the customer may try the camera again by choice.
    customer.reload()
    expect(video.get_by_role("alert")).to_have_text("您未允许使用摄像头，已为您切换为文字服务。")
    expect(video.get_by_role("button", name="重新开始视频")).to_be_visible()
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("好的，我想申请贷款")
    shot(console, "video-05-interpreter-customer-blocked")


def test_interpreter_without_a_camera_continues_in_text(
    hub: Hub, prompting_browser: Browser, opened: list[BrowserContext]
) -> None:
    console = interpreter_console(new_context(prompting_browser, opened, init_script=NO_CAMERA_SCRIPT), hub)
    customer = deaf_customer(new_context(prompting_browser, opened), hub)
    customer.get_by_role("button", name="手语视频服务（视频手语翻译）").click()
    queue_and_accept(customer, console)

    expect(console.locator("#video-status")).to_have_text(
        "未检测到您的摄像头，已切换为文字服务，请通过文字与客户沟通。"
    )
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text(
        "手语翻译员的摄像头暂时不可用，已为您切换为文字服务"
    )
    expect(customer.locator(WIDGET_VIDEO)).to_have_attribute("data-state", "ended")
    talk_in_text(customer, console)
    shot(customer, "video-06-customer-interpreter-without-camera")
