"""The command line's options and the round-robin choice of cases for small runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.cli import FULL, SMOKE, options_from, spread
from benchmarks.traffic import Case, Turn


def case(category: str, number: int) -> Case:
    return Case(f"{category}-{number}", category, "cust-good", (Turn("…", ("intent greet",)),))


def test_options_default_to_the_full_run() -> None:
    assert options_from([]) == FULL
    assert FULL.users == (2, 10, 50, 100, 200) and FULL.max_cases is None


def test_options_smoke_with_overrides() -> None:
    options = options_from(["--smoke", "--users", "2,3", "--duration", "1.5", "--phases", "load", "--out", "x"])
    assert options.smoke and options.users == (2, 3) and options.duration_seconds == 1.5
    assert options.phases == ("load",) and options.out == Path("x")
    assert options.max_cases == SMOKE.max_cases


def test_options_refuse_an_unknown_phase() -> None:
    with pytest.raises(SystemExit):
        options_from(["--phases", "kb,speed"])


def test_spread_takes_cases_round_robin_over_categories() -> None:
    cases = [case("a", 1), case("a", 2), case("a", 3), case("b", 1), case("c", 1), case("c", 2)]
    assert [c.case_id for c in spread(cases, 4)] == ["a-1", "b-1", "c-1", "a-2"]
    assert spread(cases, None) == cases and spread(cases, 99) == cases
