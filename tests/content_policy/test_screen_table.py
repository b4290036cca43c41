# ruff: noqa: RUF001  # look-alike letters in EN/RU prompts are the subject under test
"""Table-driven prompt screening: every case in cases.py gets its expected outcome."""

from __future__ import annotations

import pytest

from backend.services.content_policy import screen_prompt
from tests.content_policy.cases import CASES, OK, Case


def _decide(case: Case):  # type: ignore[no-untyped-def]
    return screen_prompt(
        case.prompt,
        case.negative,
        policy=case.policy,  # type: ignore[arg-type]
        image_conditioned=case.image,
        adult_confirmed=case.confirmed,
    )


def test_table_has_enough_cases() -> None:
    """The suite keeps at least 150 cases, both English and Russian."""
    assert len(CASES) >= 150
    assert sum(any("а" <= ch <= "я" for ch in c.prompt) for c in CASES) >= 30


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{i}-{c.policy}-{c.prompt[:30]}" for i, c in enumerate(CASES)]
)
def test_case(case: Case) -> None:
    """Each prompt is allowed or refused with exactly the category the table states."""
    decision = _decide(case)
    got = OK if decision.allowed else decision.error_code
    assert got == case.expected
    if not decision.allowed:
        # Refusals echo the user's text untouched; the code is the only signal.
        assert (decision.prompt, decision.negative_prompt) == (case.prompt, case.negative)
