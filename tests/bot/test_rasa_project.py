"""The Rasa project as a whole: data validation, test stories, and odd messages over the REST channel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import RasaStack

RASA = [sys.executable, "-m", "rasa"]
REPLY_TIMEOUT_SECONDS = 60  # the first message warms the action server and the embedding model


def test_rasa_data_validate_is_clean(project_root: Path) -> None:
    result = subprocess.run(
        [*RASA, "data", "validate", "--fail-on-warnings", "--config", "config.yml",
         "--domain", "bot/domain", "--data", "bot/data"],
        cwd=project_root, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.mark.slow
def test_test_stories_pass_without_prediction_errors(trained_model: Path, project_root: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [*RASA, "test", "core", "--model", str(trained_model), "--stories", "tests/bot/stories",
         "--fail-on-prediction-errors", "--out", str(tmp_path)],
        cwd=project_root, capture_output=True, text=True,
    )  # fmt: skip
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details[-6000:] + result.stdout[-3000:] + result.stderr[-3000:]


def _send(stack: RasaStack, sender: str, text: str) -> list[dict[str, object]]:
    response = httpx.post(stack.rest_webhook, json={"sender": sender, "message": text}, timeout=REPLY_TIMEOUT_SECONDS)
    assert response.status_code == 200, response.text
    replies: list[dict[str, object]] = response.json()
    return replies


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("我想问一下额度" * 1500, id="ten-thousand-characters"),
        pytest.param("😀😀🙏", id="emoji-only"),
        pytest.param("hi, 我的 app 登录不了 password 忘了", id="mixed-chinese-english"),
        pytest.param("<script>alert(1)</script>", id="markup"),
        pytest.param("\x00\x01", id="control-characters"),
    ],
)
def test_odd_message_gets_a_reply_and_no_stack_trace(rasa_stack: RasaStack, text: str) -> None:
    replies = _send(rasa_stack, f"odd-{abs(hash(text))}", text)
    texts = [str(reply.get("text", "")) for reply in replies]
    assert texts and all(texts), f"no reply text: {replies}"
    assert not any("Traceback" in t or "Error" in t for t in texts)


@pytest.mark.slow
def test_greeting_over_rest_gets_chinese_greeting_with_buttons(rasa_stack: RasaStack) -> None:
    replies = _send(rasa_stack, "greeter", "你好")
    assert "小微" in str(replies[0]["text"])
    assert replies[0].get("buttons")
