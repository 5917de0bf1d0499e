"""benchmarks/loan_turn.py: recognising the bot's questions, driving a conversation, the figures, end to end."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from actions.backends.base import OtpVerified
from actions.backends.stub import StubBankBackend
from benchmarks.kb_latency import run_meta
from benchmarks.loan_turn import (
    APPLY,
    ASKS,
    CONFIRM,
    CUSTOMER,
    PURPOSE,
    QUICK_CONVERSATIONS,
    SUCCESS,
    Conversation,
    Flow,
    Turn,
    main,
    markdown,
    next_step,
    options_from,
    response_name,
    response_patterns,
    summarise,
    template_pattern,
)
from benchmarks.stack import PROJECT_ROOT, current_model

DOMAIN = PROJECT_ROOT / "bot" / "domain"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _domain_text(name: str) -> str:
    """The project's response ``name`` with every ``{slot}`` filled in."""
    for path in DOMAIN.glob("*.yml"):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}
        if name in responses:
            return re.sub(r"\{\w+\}", "12", str(responses[name][0]["text"]).strip())
    raise LookupError(name)


@pytest.fixture(scope="module")
def patterns() -> dict[str, list[re.Pattern[str]]]:
    return response_patterns(DOMAIN, [*ASKS, SUCCESS, "utter_identity_verified"])


@pytest.fixture
async def bank(tmp_path: Path) -> AsyncIterator[StubBankBackend]:
    backend = StubBankBackend(f"sqlite:///{tmp_path / 'bank.db'}")
    yield backend
    await backend.aclose()


def _fake_rasa(bank: StubBankBackend, *, make_loan: bool = True, purpose_taken: bool = True) -> httpx.MockTransport:
    """The REST channel of a bot that runs the loan flow against ``bank``."""

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["metadata"] == {"customer_id": CUSTOMER}
        message = body["message"]
        if message == APPLY:
            names = ["utter_otp_sent", "utter_ask_otp_code"]
        elif message.isdigit():
            verified = isinstance(await bank.verify_otp(CUSTOMER, message), OtpVerified)
            names = ["utter_identity_verified", "utter_ask_loan_purpose"] if verified else ["utter_ask_otp_code"]
        elif message == PURPOSE:
            names = ["utter_loan_quote", "utter_loan_confirm_question"] if purpose_taken else ["utter_ask_loan_purpose"]
        elif message == CONFIRM:
            if make_loan:
                await bank.apply_loan(CUSTOMER, 100_000, 5, PURPOSE, idempotency_key=uuid.uuid4().hex)
            names = [SUCCESS]
        else:
            return httpx.Response(500)
        return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": _domain_text(n)} for n in names])

    return httpx.MockTransport(handler)


def test_template_pattern_matches_any_slot_values() -> None:
    pattern = template_pattern("借款成功！{amount} 元将发放到您尾号 {card_last4} 的银行卡。")
    assert pattern.fullmatch("借款成功！1,000.00 元将发放到您尾号 7894 的银行卡。")
    assert not pattern.fullmatch("借款失败！1,000.00 元将发放到您尾号 7894 的银行卡。")


def test_template_pattern_escapes_the_literal_text() -> None:
    assert template_pattern("分 (5) 期?").fullmatch("分 (5) 期?")
    assert not template_pattern("分 (5) 期?").fullmatch("分 5 期")


def test_response_patterns_unknown_response_raises(tmp_path: Path) -> None:
    (tmp_path / "core.yml").write_text("responses:\n  utter_hi:\n    - text: 你好\n", encoding="utf-8")
    assert response_name("你好", response_patterns(tmp_path, ["utter_hi"])) == "utter_hi"
    with pytest.raises(KeyError, match="utter_missing"):
        response_patterns(tmp_path, ["utter_missing"])


def test_response_patterns_project_domain_has_every_question_the_flow_answers(
    patterns: dict[str, list[re.Pattern[str]]],
) -> None:
    assert set(ASKS) | {SUCCESS} <= set(patterns)


def test_next_step_follows_the_last_question_of_a_reply(patterns: dict[str, list[re.Pattern[str]]]) -> None:
    replies = [_domain_text("utter_identity_verified"), _domain_text("utter_ask_loan_purpose")]
    assert next_step(replies, patterns) == "purpose"
    assert next_step([_domain_text("utter_otp_sent"), _domain_text("utter_ask_otp_code")], patterns) == "otp"


def test_next_step_without_a_question_is_none(patterns: dict[str, list[re.Pattern[str]]]) -> None:
    assert next_step([_domain_text(SUCCESS), "您最近的 5 笔交易："], patterns) is None


async def test_converse_makes_a_loan_and_times_every_turn(
    bank: StubBankBackend, patterns: dict[str, list[re.Pattern[str]]]
) -> None:
    async with httpx.AsyncClient(transport=_fake_rasa(bank), base_url="http://rasa") as client:
        result = await Flow(client, bank, patterns).converse("sender-1")
    assert result.error is None
    assert [turn.step for turn in result.turns] == ["apply", "otp", "purpose", "confirm"]
    assert result.confirm_seconds is not None and result.confirm_seconds > 0


async def test_converse_success_reply_without_a_new_loan_is_an_error(
    bank: StubBankBackend, patterns: dict[str, list[re.Pattern[str]]]
) -> None:
    async with httpx.AsyncClient(transport=_fake_rasa(bank, make_loan=False), base_url="http://rasa") as client:
        result = await Flow(client, bank, patterns).converse("sender-1")
    assert result.error is not None and "made 0 loans" in result.error
    assert result.confirm_seconds is None


async def test_converse_question_asked_again_is_an_error(
    bank: StubBankBackend, patterns: dict[str, list[re.Pattern[str]]]
) -> None:
    async with httpx.AsyncClient(transport=_fake_rasa(bank, purpose_taken=False), base_url="http://rasa") as client:
        result = await Flow(client, bank, patterns).converse("sender-1")
    assert result.error is not None and "after 'purpose'" in result.error
    assert [turn.step for turn in result.turns] == ["apply", "otp", "purpose"]


async def test_converse_http_error_is_an_error(
    bank: StubBankBackend, patterns: dict[str, list[re.Pattern[str]]]
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(500))
    async with httpx.AsyncClient(transport=transport, base_url="http://rasa") as client:
        result = await Flow(client, bank, patterns).converse("sender-1")
    assert result.error is not None and result.error.startswith("HTTPStatusError")


def test_summarise_counts_errors_and_times_only_made_loans() -> None:
    made = [Conversation(f"s{n}", [Turn("apply", 0.1), Turn("confirm", 0.2 + n / 100)]) for n in range(3)]
    failed = Conversation("bad", [Turn("apply", 0.1), Turn("confirm", 9.0)], error="confirmation made 0 loans")
    figures = summarise([*made, failed])
    assert (figures["conversations"], figures["loans_made"], figures["errors"]) == (4, 3, 1)
    assert figures["confirm_ms"]["count"] == 3 and figures["confirm_ms"]["max_ms"] == 220.0
    assert figures["steps_ms"]["confirm"]["count"] == 4  # every confirmation turn, for context
    assert figures["beats_bar"] is True
    assert figures["error_details"] == [{"sender": "bad", "error": "confirmation made 0 loans"}]
    assert set(figures["steps_ms"]) == {"apply", "confirm"}


def test_markdown_states_the_command_and_the_verdict() -> None:
    figures = summarise([Conversation("s", [Turn("apply", 0.1), Turn("confirm", 0.2)])])
    report = {
        "meta": run_meta("benchmarks.loan_turn", ["--quick"]),
        "model": "kefu-x.tar.gz",
        "script": "a → b",
        "warm_up_conversations": 1,
        "warm_up_turns_ms": [{"apply": 900.0, "confirm": 400.0}],
        "figures": figures,
    }
    text = markdown(report)
    assert "`python -m benchmarks.loan_turn --quick`" in text and "beats the seed's 2400 ms" in text
    assert "| **confirm** | 1 | 200.0 |" in text and "apply 900, confirm 400" in text


def test_options_quick_runs_a_few_conversations() -> None:
    assert options_from(["--quick"]).conversations == QUICK_CONVERSATIONS
    assert options_from(["--conversations", "7"]).conversations == 7


def test_options_more_conversations_than_the_available_limit_allows_is_refused() -> None:
    with pytest.raises(SystemExit):
        options_from(["--conversations", "41"])


@pytest.mark.slow
def test_main_quick_confirms_every_loan_and_reports_numbers(tmp_path: Path) -> None:
    try:
        current_model()
    except FileNotFoundError as error:
        pytest.skip(f"no trained Rasa model: {error}")
    out = tmp_path / "reports"
    assert main(["--quick", "--out", str(out)]) == 0

    report = json.loads((out / "loan_turn.json").read_text(encoding="utf-8"))
    figures = report["figures"]
    assert figures["conversations"] == QUICK_CONVERSATIONS
    assert figures["loans_made"] == QUICK_CONVERSATIONS and figures["errors"] == 0, figures["error_details"]
    for figure in ("p50_ms", "p95_ms", "max_ms"):
        assert _is_number(figures["confirm_ms"][figure]), figure
    assert set(figures["steps_ms"]) >= {"apply", "otp", "purpose", "confirm"}
    assert "loan_turn --quick" in (out / "loan_turn.md").read_text(encoding="utf-8")
