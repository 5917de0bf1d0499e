"""End to end in headless Chromium: customer widget and agent console against a hub subprocess + fake Rasa.

Screenshots go to test-artifacts/hub/. The lead runs a variant of the journey against the real Rasa.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.hub.support.fake_rasa import FAQ_ANSWER, FakeRasa
from tests.hub.support.hub_process import HubProcess
from tests.hub.support.servers import ThreadedServer
from tests.support.servers import PROJECT_ROOT, free_port

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "hub"
# Long enough for the fake Rasa + action round trip and a widget reconnect after a hub restart (backoff ≤ 10 s).
UI_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def rasa() -> Iterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    with ThreadedServer(fake.app) as server:
        yield fake, server.url


@pytest.fixture(scope="module")
def hub(rasa: tuple[FakeRasa, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEFU_HUB_URL", f"http://127.0.0.1:{port}")  # where the fake Rasa's action_handoff posts
        process = HubProcess(tmp_path_factory.mktemp("hub-e2e"), {"KEFU_RASA_URL": rasa[1]}, port=port).start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    customer = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    agent = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 860})
    for context in (customer, agent):
        context.set_default_timeout(UI_TIMEOUT_MS)
    yield customer, agent
    customer.close()
    agent.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def log_in(page: Page, hub: HubProcess, username: str, password: str) -> None:
    page.goto(f"{hub.url}/agent/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="kefu 坐席工作台")).to_be_visible()
    expect(page.locator("#connection")).to_have_text("已连接")


def say(customer: Page, text: str) -> None:
    box = customer.get_by_label("消息内容")
    box.fill(text)
    box.press("Enter")


def reply(agent: Page, text: str) -> None:
    box = agent.get_by_label("回复内容")
    box.fill(text)
    box.press("Enter")


def customer_log(customer: Page) -> str:
    return customer.get_by_role("log", name="对话记录").inner_text()


def agent_log(agent: Page) -> str:
    return agent.get_by_role("log", name="会话记录").inner_text()


def test_customer_and_agent_journey(hub: HubProcess, contexts: tuple[BrowserContext, BrowserContext]) -> None:
    customer_context, agent_context = contexts
    agent = agent_context.new_page()
    log_in(agent, hub, "agent1", "kefu-agent1")
    agent.get_by_label("状态").select_option("away")  # 小休: customers wait until the agent accepts

    customer = customer_context.new_page()
    dialogs: list[str] = []
    customer.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    customer.goto(f"{hub.url}/")
    expect(customer.get_by_role("dialog", name="微众银行 · 在线客服")).to_be_visible()

    # The customer asks a question and the bot answers, with quick-reply buttons.
    say(customer, "日利率是多少")
    expect(customer.get_by_text(FAQ_ANSWER)).to_be_visible()
    expect(customer.get_by_role("button", name="如何提前还款")).to_be_visible()
    shot(customer, "01-customer-bot-answer")

    # 转人工: the customer is queued and sees the live position and the wait estimate.
    customer.get_by_role("button", name="转人工客服").click()
    expect(customer.get_by_role("status").filter(has_text="前面还有 0 位，预计等待约 3 分钟")).to_be_visible()
    expect(customer.get_by_role("button", name="转人工客服")).to_be_disabled()
    shot(customer, "02-customer-queued")

    # The agent sees the customer in the live queue, accepts, and sees the context packet.
    expect(agent.get_by_role("list", name="人工客服排队列表")).to_contain_text("客户 cust-good")
    shot(agent, "03-agent-queue")
    agent.get_by_role("button", name="接入下一位").click()
    context = agent.get_by_role("complementary", name="转人工上下文")
    expect(context).to_contain_text("客户要求转人工")
    expect(context).to_contain_text("request_human（置信度 98%）")
    expect(context).to_contain_text("cust-good")
    expect(context).to_contain_text("如何提前还款")
    expect(agent.get_by_role("log", name="会话记录")).to_contain_text("日利率是多少")
    expect(customer.get_by_role("status").filter(has_text="客服 张敏 正在为您服务")).to_be_visible()
    shot(agent, "04-agent-context")

    # They exchange messages; HTML from the customer is shown as text, never run.
    reply(agent, "您好，我是张敏，请问有什么可以帮您？")
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("您好，我是张敏")
    say(customer, '我想提前还款 <img src=x onerror="alert(1)">')
    expect(agent.get_by_role("log", name="会话记录")).to_contain_text('我想提前还款 <img src=x onerror="alert(1)">')
    agent.get_by_label("快捷回复").select_option(label="提前还款")
    agent.get_by_role("button", name="发送").click()
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("不收取违约金或手续费")
    assert dialogs == []
    shot(customer, "05-customer-with-agent")
    shot(agent, "06-agent-chat")

    # The agent resolves; the customer rates; the bot answers the next question.
    agent.get_by_label("处理结果").select_option("resolved")
    agent.get_by_role("button", name="结束服务").click()
    expect(agent.get_by_role("status").filter(has_text="已结束或已转接")).to_be_visible()
    customer.get_by_role("button", name="评 5 分").click()
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("感谢您的评价！")
    expect(customer.get_by_role("button", name="评 4 分")).to_be_disabled()
    say(customer, "还有一个问题，利率是多少")
    expect(customer.get_by_text(FAQ_ANSWER)).to_have_count(2)
    shot(customer, "07-customer-rated-bot-again")


def test_widget_bad_input(hub: HubProcess, contexts: tuple[BrowserContext, BrowserContext]) -> None:
    customer = contexts[0].new_page()
    customer.goto(f"{hub.url}/")
    box = customer.get_by_label("消息内容")
    box.fill("长" * 2001)
    expect(customer.get_by_role("alert").filter(has_text="消息过长")).to_be_visible()
    box.press("Enter")
    expect(customer.get_by_role("log", name="对话记录").locator("li")).to_have_count(0)
    box.fill("<script>document.title='pwned'</script>你好")
    box.press("Enter")
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("<script>document.title='pwned'</script>你好")
    assert customer.title() != "pwned"
    # Keyboard only: Escape closes the panel and focus returns to the launcher; Enter opens it again.
    customer.keyboard.press("Escape")
    expect(customer.get_by_role("button", name="打开在线客服")).to_be_focused()
    customer.keyboard.press("Enter")
    expect(customer.get_by_label("消息内容")).to_be_focused()
    shot(customer, "08-customer-bad-input")


def test_hub_killed_mid_conversation_loses_and_doubles_nothing(
    hub: HubProcess, contexts: tuple[BrowserContext, BrowserContext]
) -> None:
    customer_context, agent_context = contexts
    agent = agent_context.new_page()
    log_in(agent, hub, "agent2", "kefu-agent2")  # online: takes the next customer automatically
    customer = customer_context.new_page()
    customer.goto(f"{hub.url}/")
    customer.get_by_role("button", name="转人工客服").click()
    expect(customer.get_by_role("status").filter(has_text="客服 李强 正在为您服务")).to_be_visible()
    agent.get_by_role("navigation", name="会话列表").get_by_role("button", name=re.compile("客户 cust-good")).click()
    reply(agent, "客服消息一")
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("客服消息一")
    say(customer, "客户消息一")
    expect(agent.get_by_role("log", name="会话记录")).to_contain_text("客户消息一")

    hub.kill()
    expect(customer.get_by_role("status").filter(has_text="连接已中断")).to_be_visible()
    expect(agent.locator("#connection")).to_have_text("连接中断，正在重连…")
    say(customer, "断线时客户发的消息")
    reply(agent, "断线时客服发的消息")
    shot(customer, "09-customer-hub-down")
    hub.start()

    expect(agent.get_by_role("log", name="会话记录")).to_contain_text("断线时客户发的消息")
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("断线时客服发的消息")
    customer.reload()  # a reload resumes from localStorage as well
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("断线时客服发的消息")
    say(customer, "客户消息二")
    expect(agent.get_by_role("log", name="会话记录")).to_contain_text("客户消息二")
    reply(agent, "客服消息二")
    expect(customer.get_by_role("log", name="对话记录")).to_contain_text("客服消息二")
    shot(customer, "10-customer-after-restart")
    shot(agent, "11-agent-after-restart")

    texts = ["客服消息一", "客户消息一", "断线时客户发的消息", "断线时客服发的消息", "客户消息二", "客服消息二"]
    conversation_id = customer.evaluate("window.KefuWidget.conversationId")
    stored = [
        m["text"] for m in httpx.get(f"{hub.url}/api/conversations/{conversation_id}/messages").json()["messages"]
    ]
    for text in texts:
        assert stored.count(text) == 1, (text, stored)
        assert customer_log(customer).count(text) == 1, text
        assert agent_log(agent).count(text) == 1, text


def test_artifacts_folder_is_ignored_by_git() -> None:
    assert "test-artifacts/" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert Path(ARTIFACTS).is_relative_to(PROJECT_ROOT)
