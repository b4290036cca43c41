# ruff: noqa: RUF001, RUF003  # look-alike letters in EN/RU prompts are the subject under test
"""Normalisation folds each evasion trick into the spelling the term lists use."""

from __future__ import annotations

import pytest

from backend.services.content_policy.ages import explicit_ages
from backend.services.content_policy.normalize import canonical, fold_text, normalise, tokenise


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ＮＵＤＥ", "nude"),
        ("nüdé", "nude"),
        ("nu\u200bde\u200d", "nude"),
        ("(nude:1.3)", " nude  "),
        ("$ex", "sex"),
        ("b@be", "babe"),
    ],
)
def test_fold_text(raw: str, folded: str) -> None:
    """Width, case, accents, zero-width characters, weights and symbol leetspeak fold away."""
    assert fold_text(raw) == folded


def test_spaced_letters_are_rejoined() -> None:
    """Three or more single letters in a row become one word."""
    assert tokenise(fold_text("a c h i l d here")) == ["achild", "here"]
    assert tokenise(fold_text("c.h.i.l.d")) == ["child"]


@pytest.mark.parametrize(
    ("token", "term"),
    [
        ("сhild", "child"),  # Cyrillic с
        ("ch1ld", "child"),
        ("t33n", "teen"),
        ("гoлая", "голая"),  # Latin o
        ("golaya", "голая"),
        ("rebenok", "ребенок"),
        ("shkolnitsa", "школьница"),
        ("ребёнок", "ребенок"),
    ],
)
def test_token_readings_reach_the_listed_stem(token: str, term: str) -> None:
    """Look-alikes, leetspeak and transliteration lead back to the list word's stem."""
    assert canonical(term) in normalise(token).positions[0]


@pytest.mark.parametrize(
    ("text", "ages"),
    [
        ("15 y o girl", [15]),
        ("fifteen year old", [15]),
        ("15yo", [15]),
        ("15 лет", [15]),
        ("пятнадцатилетняя", [15]),
        ("aged 25", [25]),
        ("2 cats and 5 dogs", []),
    ],
)
def test_explicit_ages(text: str, ages: list[int]) -> None:
    """Stated ages are read from digits and words in both languages; bare numbers are not."""
    assert explicit_ages(text) == ages
