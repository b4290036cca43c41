# ruff: noqa: RUF001  # Cyrillic look-alike letters are this module's subject matter
"""Prompt normalisation: fold every known evasion trick before term matching.

A prompt becomes a sequence of positions; each position holds every spelling the token
could stand for (Latin and Cyrillic look-alike folds, leetspeak, a transliteration of
Russian written in Latin letters), each stemmed with Snowball for its script.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

_EN = snowballstemmer.stemmer("english")
_RU = snowballstemmer.stemmer("russian")

# Cyrillic letters that look like Latin ones, and back.
_CYR_TO_LAT = str.maketrans("авсеһікмнорѕтухіјԁԛԝ", "abcehikmhopstyxijdqw")
_LAT_TO_CYR = str.maketrans("abcehkmoptxyi", "авсенкмортхуі")
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "6": "b", "7": "t", "8": "b", "9": "g"}
_LEET_ALT = {"1": "l", "9": "q", "6": "g"}
# Latin -> Cyrillic transliteration, longest first (GOST-like and common chat spellings).
_TRANSLIT = [
    ("shch", "щ"),
    ("sch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ts", "ц"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("yu", "ю"),
    ("ju", "ю"),
    ("ya", "я"),
    ("ja", "я"),
    ("yo", "е"),
    ("a", "а"),
    ("b", "б"),
    ("v", "в"),
    ("w", "в"),
    ("g", "г"),
    ("d", "д"),
    ("e", "е"),
    ("z", "з"),
    ("i", "и"),
    ("j", "й"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("f", "ф"),
    ("h", "х"),
    ("c", "к"),
    ("y", "ы"),
    ("x", "кс"),
    ("q", "к"),
]
_TRANSLIT_RE = re.compile("|".join(re.escape(src) for src, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)

_Y_AFTER_VOWEL_RE = re.compile(r"([аеиоуыэюя])ы")
_RU_FLAT = str.maketrans({"ь": None, "ъ": None, "й": "и", "ё": "е", "э": "е"})
# Prompt weights are small numbers right before a closing bracket: "(word:1.3)", "[x:0.5]".
# "(age:12)" is not a weight and keeps its number.
_WEIGHT_RE = re.compile(r":\s*-?(?:[01]?\.\d+|[012](?:\.\d+)?)\s*(?=[)\]}>])")
_BRACKETS_RE = re.compile(r"[()\[\]{}<>]")
_SYMBOL_LEET_RE = re.compile(r"(?<=\w)[@$!|](?=\w)|[@$](?=\w)|(?<=\w)[@$]")
_SYMBOL_LEET = str.maketrans({"@": "a", "$": "s", "!": "i", "|": "l"})
_TOKEN_RE = re.compile(r"\w+|\S")
_CYRILLIC_RE = re.compile(r"[а-яё]")
_LATIN_RE = re.compile(r"[a-z]")


@dataclass(frozen=True)
class Normalised:
    """A prompt after folding: flat text (for age patterns) and per-position spellings."""

    text: str
    tokens: tuple[str, ...]
    positions: tuple[frozenset[str], ...]


def fold_text(text: str) -> str:
    """NFKC, casefold, strip accents, drop zero-width/control characters and weight syntax."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(_clean_char(ch) for ch in unicodedata.normalize("NFD", text))
    text = unicodedata.normalize("NFC", text)
    text = _BRACKETS_RE.sub(" ", _WEIGHT_RE.sub(" ", text))
    return _SYMBOL_LEET_RE.sub(lambda m: m.group(0).translate(_SYMBOL_LEET), text)


def _clean_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Mn":  # combining accents: "é" -> "e", "й" -> "и" on both sides
        return ""
    if category in {"Cc", "Cf", "Zl", "Zp"}:  # zero-width joiners, BOM, controls
        return " " if ch in "\n\r\t" else ""
    if category == "Zs":
        return " "
    return ch


def tokenise(text: str) -> list[str]:
    """Words and emoji of folded text, with spaced-out single letters rejoined."""
    raw = [t for t in _TOKEN_RE.findall(text) if t.isalnum() or _is_emoji(t) or "_" in t]
    tokens: list[str] = []
    run: list[str] = []
    for token in [*raw, ""]:
        if len(token) == 1 and token.isalnum():
            run.append(token)
            continue
        tokens.extend(["".join(run)] if len(run) >= 3 else run)
        run = []
        if token:
            tokens.extend(p for p in token.split("_") if p)
    return tokens


def _is_emoji(token: str) -> bool:
    return len(token) == 1 and unicodedata.category(token) == "So"


def spellings(token: str, english: frozenset[str] = frozenset()) -> frozenset[str]:
    """Every stemmed reading of one token across scripts, leetspeak and transliteration.

    A token whose English stem is a listed English word is not also read as transliterated
    Russian ("sexy" is not "сексы").
    """
    if _is_emoji(token):
        return frozenset({token})
    bases = {token}
    if any(ch.isdigit() for ch in token) and any(ch.isalpha() for ch in token):
        bases.add(_deleet(token, _LEET))
        bases.add(_deleet(token, {**_LEET, **_LEET_ALT}))
    out: set[str] = set()
    for base in bases:
        out.update(_script_readings(base, _en_stem(base) not in english))
    return frozenset(out)


@lru_cache(maxsize=65536)
def _script_readings(token: str, translit: bool) -> frozenset[str]:
    has_cyr = bool(_CYRILLIC_RE.search(token))
    has_lat = bool(_LATIN_RE.search(token))
    out = {_en_stem(token.translate(_CYR_TO_LAT))}
    if has_cyr or has_lat:
        out.add(_ru_stem(token.translate(_LAT_TO_CYR)))
    if translit and has_lat and not has_cyr:
        out.add(_ru_stem(transliterate(token)))
        # "ts" is "ц" in "shkolnitsa" but "тс" in "detskoe": read it both ways.
        out.add(_ru_stem(transliterate(token.replace("ts", "t|s")).replace("|", "")))
    if token.isdigit():
        out.add(token)
    return frozenset(out)


def _deleet(token: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch, ch) for ch in token)


def transliterate(token: str) -> str:
    """Russian written in Latin letters, back in Cyrillic ("rebenok" -> "ребенок")."""
    cyr = _TRANSLIT_RE.sub(lambda m: _TRANSLIT_MAP[m.group(0)], token)
    return _Y_AFTER_VOWEL_RE.sub(r"\1й", cyr)  # "y" after a vowel is "й", else "ы"


def _en_stem(token: str) -> str:
    return str(_EN.stemWord(token))


def _ru_stem(token: str) -> str:
    # Soft/hard signs, "й" and "ё" are dropped or flattened so chat spellings meet the list.
    flat = token.translate(_RU_FLAT)
    return str(_RU.stemWord(flat))


def canonical(token: str) -> str:
    """The one stemmed form a term-list word is stored as."""
    if _is_emoji(token):
        return token
    if _CYRILLIC_RE.search(token):
        return _ru_stem(token)
    return _en_stem(token)


def normalise(text: str, english: frozenset[str] = frozenset()) -> Normalised:
    """Fold, tokenise and expand a prompt into per-position spellings."""
    folded = fold_text(text)
    tokens = tuple(tokenise(folded))
    return Normalised(folded, tokens, tuple(spellings(t, english) for t in tokens))
