# ruff: noqa: RUF001  # look-alike letters in EN/RU prompts are the subject under test
"""Behaviour of screen_prompt beyond the table: strikes, adult rewrites, forced negatives."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.services.content_policy import TermListError, load_lexicon, screen_prompt
from backend.services.content_policy.lexicon import DEFAULT_POLICY_DIR
from common.error_codes import ErrorCode
from tests.content_policy.cases import CASES, MINORS


def _adult(prompt: str, negative: str = "") -> object:
    return screen_prompt(
        prompt, negative, policy="adult", image_conditioned=False, adult_confirmed=True
    )


def test_youth_plus_sexual_carries_a_strike_in_every_policy() -> None:
    """A youth + sexual refusal marks a strike under sfw and adult alike."""
    for policy in ("sfw", "adult"):
        d = screen_prompt(
            "nude teen", "", policy=policy, image_conditioned=False, adult_confirmed=True
        )
        assert (d.allowed, d.error_code, d.strike) == (False, "policy_minors", True)


def test_other_refusals_carry_no_strike() -> None:
    """Nudity under sfw and a stated minor age alone are refused without a strike."""
    nudity = screen_prompt(
        "nude woman", "", policy="sfw", image_conditioned=False, adult_confirmed=False
    )
    age = _adult("portrait of a 15 year old")
    assert (nudity.error_code, nudity.strike) == ("policy_nudity", False)
    assert (age.error_code, age.strike) == ("policy_minors", False)  # type: ignore[attr-defined]


def test_every_table_code_is_a_published_error_code() -> None:
    """Refusal codes are members of common.error_codes, never free text."""
    codes = {c.expected for c in CASES if c.expected != "ok"}
    assert codes <= {e.value for e in ErrorCode}
    assert MINORS in codes


def test_adult_rewrites_youth_words_and_keeps_carve_outs() -> None:
    """Under adult, "girl" becomes an adult form while "kid gloves" stays as written."""
    d = _adult("sexy girl wearing kid gloves")
    assert d.allowed  # type: ignore[attr-defined]
    assert d.prompt == "sexy adult woman wearing kid gloves"  # type: ignore[attr-defined]


def test_adult_always_forces_the_anti_minor_negative() -> None:
    """Every allowed adult request carries the anti-minor negative after the user's own."""
    forced = load_lexicon().anti_minor_negative
    plain = _adult("a lighthouse at dusk")
    own = _adult("a lighthouse at dusk", "blurry")
    assert plain.negative_prompt == forced  # type: ignore[attr-defined]
    assert own.negative_prompt == f"blurry, {forced}"  # type: ignore[attr-defined]


def test_sfw_leaves_allowed_prompts_untouched() -> None:
    """Under sfw an allowed prompt and negative pass through unchanged."""
    d = screen_prompt(
        "girl with an umbrella in the rain",
        "blurry",
        policy="sfw",
        image_conditioned=False,
        adult_confirmed=False,
    )
    assert (d.allowed, d.prompt, d.negative_prompt) == (
        True,
        "girl with an umbrella in the rain",
        "blurry",
    )


def test_protective_words_in_the_negative_prompt_are_not_refused() -> None:
    """A negative prompt listing "child, nude" protects; it is not itself a request."""
    d = screen_prompt(
        "portrait of a woman",
        "child, nude, nsfw",
        policy="sfw",
        image_conditioned=False,
        adult_confirmed=False,
    )
    assert d.allowed


def test_operator_real_person_names_are_read_from_the_data_file(tmp_path: Path) -> None:
    """A name an operator adds to real_people.txt refuses sexual prompts about that person."""
    for src in DEFAULT_POLICY_DIR.iterdir():
        (tmp_path / src.name).write_bytes(src.read_bytes())
    with (tmp_path / "real_people.txt").open("a", encoding="utf-8") as fh:
        fh.write("\nivan petrovsky\nиван петровский\n")
    lex = load_lexicon(tmp_path)
    for prompt in ("Ivan Petrovsky nude", "иван петровский голый", "ivan petrovskiy golyy"):
        d = screen_prompt(
            prompt, "", policy="adult", image_conditioned=False, adult_confirmed=True, lexicon=lex
        )
        assert d.error_code == "policy_real_person", prompt


def test_missing_term_list_fails_loudly(tmp_path: Path) -> None:
    """A policy directory without its term lists is a start-up error, not an empty policy."""
    with pytest.raises(TermListError):
        load_lexicon(tmp_path)
