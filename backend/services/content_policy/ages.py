# ruff: noqa: RUF001  # Russian age words contain Latin look-alike letters by nature
"""Explicit ages in a prompt ("15 y.o.", "fifteen-year-old", "15 лет", "пятнадцатилетняя")."""

from __future__ import annotations

import re

_EN_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
]
_RU_WORDS = [
    "ноль",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
]
# Stems that open compound age adjectives: "пятилетний", "пятнадцатилетняя", "двухлетка".
_RU_STEMS = [
    "нол",
    "одно",
    "двух",
    "трех",
    "четырех",
    "пяти",
    "шести",
    "семи",
    "восьми",
    "девяти",
    "десяти",
    "одиннадцати",
    "двенадцати",
    "тринадцати",
    "четырнадцати",
    "пятнадцати",
    "шестнадцати",
    "семнадцати",
]

_NUM_EN = "|".join(_EN_WORDS)
_NUM_DIGITS = r"\d{1,2}"
_NUM_RU = "|".join(_RU_WORDS)
_UNIT_EN = r"(?:years?|yrs?|yo|y o|yr old|let|god[a-z]*)"
_UNIT_RU = r"(?:лет|годик\w*|год\w*|летн\w*|годовал\w*)"

_PATTERNS = [
    re.compile(rf"\b(\d{{1,3}})\s*{_UNIT_EN}\b"),
    re.compile(rf"\b(\d{{1,3}})\s*{_UNIT_RU}"),
    re.compile(r"\b(\d{1,3})\s*(?:ти|ми|х|летн)\w*\s*летн"),
    re.compile(r"\b(?:age|aged|ages|возраст\w*)\s*(?:of\s*)?(\d{1,3})\b"),
    re.compile(rf"\b({_NUM_EN})\s*{_UNIT_EN}\b"),
    re.compile(rf"\b(?:age|aged)\s*(?:of\s*)?({_NUM_EN})\b"),
    re.compile(rf"\b({_NUM_RU})\s*{_UNIT_RU}"),
    re.compile(rf"\b({'|'.join(_RU_STEMS)})\s*(?:летн|летк|годовал|лет)\w*"),
]


def explicit_ages(text: str) -> list[int]:
    """Every age the text states explicitly; text is a folded, tokenised prompt."""
    ages: list[int] = []
    for pattern in _PATTERNS:
        ages.extend(_to_int(m.group(1)) for m in pattern.finditer(text))
    return ages


def _to_int(value: str) -> int:
    if value.isdigit():
        return int(value)
    for words in (_EN_WORDS, _RU_WORDS, _RU_STEMS):
        if value in words:
            return words.index(value)
    return 0


_BARE = re.compile(
    rf"(?:^|(?<=[\s,;.!?/|()\[\]{{}}-]))({_NUM_DIGITS}|{_NUM_EN}|{_NUM_RU})\s*(?=$|[,;.!?/|()\[\]{{}}\n-])"
)


def bare_minor_numbers(text: str) -> list[int]:
    """Numbers under 18 standing alone between separators ("girl, 12, ..."): read as ages."""
    found = (_to_int(m.group(1)) for m in _BARE.finditer(text))
    return [n for n in found if 0 < n < 18]


def has_minor_age(text: str) -> bool:
    """True when the text states an age under 18."""
    return any(age < 18 for age in explicit_ages(text))
