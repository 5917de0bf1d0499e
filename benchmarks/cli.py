"""``python -m benchmarks [--smoke] [--out reports] [--phases kb,accuracy,load] …``: run and report.

``make bench`` runs everything with the full settings (~20 minutes on a 2-core machine); ``make bench-smoke``
runs a few turns and a few seconds of load (``--smoke``) so that the path is exercised in CI. Phases run one
after the other, never together: the knowledge-base figures first (no servers running), then the stack is
started once for the labelled traffic and the load levels.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks import knowledge, report
from benchmarks.accuracy import run_accuracy, warm_up
from benchmarks.load import BOT, ECHO, LoadSettings, run_phase
from benchmarks.probes import Snapshot, scrape
from benchmarks.scoring import accuracy_summary
from benchmarks.stack import PROJECT_ROOT, Stack, current_model, running_stack
from benchmarks.timing import breakdown
from benchmarks.traffic import Case, load_traffic
from knowledge_base.index import IndexStore
from knowledge_base.loader import load_catalog
from knowledge_base.settings import get_settings

PHASES = ("kb", "accuracy", "load")
# The goals: containment and precision on in-scope traffic; reply p95 at a message rate.
GOAL_CONTAINMENT = 0.97
GOAL_PRECISION = 0.95
GOAL_P95_MS = 150.0
GOAL_MESSAGES_PER_SECOND = 50.0


@dataclass(frozen=True)
class Options:
    """What one run does."""

    out: Path
    phases: tuple[str, ...]
    smoke: bool
    users: tuple[int, ...]
    duration_seconds: float
    echo_duration_seconds: float
    think_seconds: float
    max_cases: int | None
    pairs_limit: int | None


FULL = Options(
    out=PROJECT_ROOT / "reports",
    phases=PHASES,
    smoke=False,
    users=(2, 10, 50, 100, 200),  # 2 and 10: a quiet hour, below saturation; 50–200: the levels
    duration_seconds=60.0,  # long enough for a few thousand replies per level
    echo_duration_seconds=20.0,  # the echo path is steady within seconds
    think_seconds=1.0,  # N customers then offer about N messages a second
    max_cases=None,
    pairs_limit=None,
)
SMOKE = replace(
    FULL,
    smoke=True,
    users=(4,),
    duration_seconds=4.0,
    echo_duration_seconds=2.0,
    think_seconds=0.5,
    max_cases=12,
    pairs_limit=200,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="kefu benchmarks → reports/")
    parser.add_argument("--smoke", action="store_true", help="a few turns and seconds: checks the path, not speed")
    parser.add_argument("--out", type=Path, help="report folder (default reports/)")
    parser.add_argument("--phases", help=f"comma-separated subset of {','.join(PHASES)} (default all)")
    parser.add_argument("--users", help="concurrent customers per load level, e.g. 50,100,200")
    parser.add_argument("--duration", type=float, help="seconds of load per level")
    parser.add_argument("--echo-duration", type=float, help="seconds of echo load per level")
    parser.add_argument("--think", type=float, help="mean seconds a customer waits between messages")
    parser.add_argument("--max-cases", type=int, help="only the first N labelled cases (spread over categories)")
    parser.add_argument("--pairs-limit", type=int, help="only the first N BQ pairs")
    return parser


def options_from(argv: Sequence[str]) -> Options:
    """The run's options: the full or smoke defaults, with what the command line overrides."""
    args = _parser().parse_args(argv)
    chosen = SMOKE if args.smoke else FULL
    phases = tuple(p.strip() for p in args.phases.split(",")) if args.phases else chosen.phases
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise SystemExit(f"unknown phases: {', '.join(sorted(unknown))} (known: {', '.join(PHASES)})")
    return replace(
        chosen,
        out=args.out or chosen.out,
        phases=phases,
        users=tuple(int(u) for u in args.users.split(",")) if args.users else chosen.users,
        duration_seconds=args.duration or chosen.duration_seconds,
        echo_duration_seconds=args.echo_duration or chosen.echo_duration_seconds,
        think_seconds=args.think or chosen.think_seconds,
        max_cases=args.max_cases or chosen.max_cases,
        pairs_limit=args.pairs_limit or chosen.pairs_limit,
    )


def spread(cases: Sequence[Case], limit: int | None) -> list[Case]:
    """At most ``limit`` cases, taken round-robin over the categories so that a small run sees every kind."""
    if limit is None or limit >= len(cases):
        return list(cases)
    by_category: dict[str, list[Case]] = {}
    for case in cases:
        by_category.setdefault(case.category, []).append(case)
    chosen: list[Case] = []
    while len(chosen) < limit:
        for group in by_category.values():
            if group and len(chosen) < limit:
                chosen.append(group.pop(0))
    return chosen


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, OS and Python of this machine."""
    cpu = platform.processor() or "unknown CPU"
    memory_gb = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def meta(options: Options, argv: Sequence[str], model: Path | None) -> dict[str, Any]:
    kb = get_settings()
    command = "python -m benchmarks" + ("" if not argv else " " + shlex.join(argv))
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD").strip() or "unknown",
        "dirty": bool(_git("status", "--porcelain").strip()),
        "machine": machine(),
        "model": model.name if model else None,
        "kb_index": IndexStore(kb.index_dir).current_version(),
        "command": command,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "smoke": options.smoke,
        "options": {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(options).items()},
    }


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def accuracy_phase(stack: Stack, cases: Sequence[Case], command: str) -> dict[str, Any]:
    scored = sum(case.scored_turns for case in cases)
    _say(f"labelled traffic: {len(cases)} cases, {scored} scored turns")

    def progress(done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            _say(f"  {done}/{total} cases")

    run = run_accuracy(stack, cases, progress=progress)
    summary = accuracy_summary(run.results)
    return {
        "command": command,
        "cases": len(cases),
        "turns_sent": run.turns_sent,
        "errors": run.errors,
        "seconds": round(run.seconds, 1),
        "goals": {"containment": GOAL_CONTAINMENT, "precision": GOAL_PRECISION},
        **summary,
    }


# After an overloaded level Rasa may still be answering queued messages; the next phase waits until Rasa has
# answered nothing new for SETTLE_QUIET_SECONDS, and at most SETTLE_MAX_SECONDS.
SETTLE_QUIET_SECONDS = 3.0
SETTLE_MAX_SECONDS = 180.0


def settle(stack: Stack) -> float:
    """Waits until Rasa is idle (see :data:`SETTLE_QUIET_SECONDS`); returns the seconds waited."""
    started = time.monotonic()
    count = scrape(stack.rasa_metrics_url).value("kefu_rasa_message_seconds_count")
    while time.monotonic() - started < SETTLE_MAX_SECONDS:
        time.sleep(SETTLE_QUIET_SECONDS)
        now = scrape(stack.rasa_metrics_url).value("kefu_rasa_message_seconds_count")
        if now == count:
            break
        count = now
    return time.monotonic() - started


def _snapshots(stack: Stack) -> dict[str, Snapshot]:
    return {name: scrape(url) for name, url in stack.metrics_urls.items()}


def load_phase(stack: Stack, texts: Sequence[str], options: Options, command: str) -> dict[str, Any]:
    levels = []
    for users in options.users:
        settings = LoadSettings(
            users=users, duration_seconds=options.duration_seconds, think_seconds=options.think_seconds
        )
        _say(f"load: {users} customers on the bot for {settings.duration_seconds:.0f} s")
        before = _snapshots(stack)
        bot = asyncio.run(run_phase(stack.hub_url, texts, settings, BOT))
        waited = settle(stack)  # messages still queued are answered, and counted, before the snapshot
        after = _snapshots(stack)
        echo_settings = replace(settings, duration_seconds=options.echo_duration_seconds)
        _say(f"load: {users} customers on /ws/echo for {echo_settings.duration_seconds:.0f} s")
        echo = asyncio.run(run_phase(stack.hub_url, texts, echo_settings, ECHO))
        settle(stack)
        bot_summary, echo_summary = bot.summary(), echo.summary()
        delta = {name: after[name].minus(before[name]) for name in after}
        split = breakdown(
            bot_summary["mean_ms"] or 0.0,
            delta["hub"],
            delta["rasa"],
            delta["actions"],
            seconds=bot.duration_seconds + waited,
            complete=bot_summary["errors_total"] == 0,
        )
        ratio_p50 = _ratio(bot_summary["p50_ms"], echo_summary["p50_ms"])
        ratio_p95 = _ratio(bot_summary["p95_ms"], echo_summary["p95_ms"])
        goal_met = (
            bot_summary["p95_ms"] is not None
            and bot_summary["p95_ms"] < GOAL_P95_MS
            and bot_summary["messages_per_second"] >= GOAL_MESSAGES_PER_SECOND
            and bot_summary["errors_total"] == 0
        )
        _say(
            f"  {bot_summary['messages_per_second']} msg/s, p50 {bot_summary['p50_ms']} ms, "
            f"p95 {bot_summary['p95_ms']} ms, errors {bot_summary['errors_total']}; "
            f"echo p50 {echo_summary['p50_ms']} ms"
        )
        levels.append(
            {
                "users": users,
                "bot": bot_summary,
                "echo": echo_summary,
                "ratio_p50": ratio_p50,
                "ratio_p95": ratio_p95,
                "goal_met": goal_met,
                "settle_seconds": round(waited, 1),
                "breakdown": asdict(split),
            }
        )
    return {
        "command": command,
        "settings": {
            "duration_seconds": options.duration_seconds,
            "echo_duration_seconds": options.echo_duration_seconds,
            "think_seconds": options.think_seconds,
            "messages_per_conversation": LoadSettings(1, 1, 1).messages_per_conversation,
            "reply_timeout_seconds": LoadSettings(1, 1, 1).reply_timeout_seconds,
            "texts": len(texts),
        },
        "goal": {"p95_ms": GOAL_P95_MS, "messages_per_second": GOAL_MESSAGES_PER_SECOND},
        "levels": levels,
    }


def _ratio(bot: float | None, echo: float | None) -> float | None:
    return round(bot / echo, 1) if bot is not None and echo else None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the chosen phases and writes the report; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    options = options_from(argv)
    base = "python -m benchmarks" + (" --smoke" if options.smoke else "")
    needs_stack = {"accuracy", "load"} & set(options.phases)
    model = current_model() if needs_stack else None
    result: dict[str, Any] = {"meta": meta(options, argv, model)}
    if "kb" in options.phases:
        _say("knowledge base: kefu kb eval")
        evaluation = knowledge.kb_eval()
        _say("knowledge base: kefu kb pairs (BQ)")
        result["knowledge_base"] = {"eval": evaluation, "pairs": knowledge.kb_pairs(limit=options.pairs_limit)}
    if needs_stack:
        catalog = load_catalog(get_settings().data_dir)
        cases = spread(load_traffic(faq_ids={faq.id for faq in catalog}), options.max_cases)
        texts = [turn.text for case in cases for turn in case.turns]
        _say(f"starting Rasa ({model.name if model else '?'}), the action server and the hub")
        with running_stack(model) as stack:
            warm_up(stack)
            if "accuracy" in options.phases:
                result["accuracy"] = accuracy_phase(stack, cases, f"{base} --phases accuracy")
            if "load" in options.phases:
                result["load"] = load_phase(stack, texts, options, f"{base} --phases load")
    result["meta"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    files = report.write_report(result, options.out)
    _say("wrote " + ", ".join(str(path) for path in files))
    return 0
