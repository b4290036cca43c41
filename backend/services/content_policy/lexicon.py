"""The full set of term lists the prompt screen uses, loaded once from config/policy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from backend.services.content_policy.terms import TermListError, TermSet, load_terms

DEFAULT_POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policy"

_LISTS = (
    "youth",
    "ambiguous_youth",
    "sexual",
    "suggestive",
    "undress",
    "undress_photo",
    "real_people",
    "benign",
    "adult_words",
)


@dataclass(frozen=True)
class Lexicon:
    """Every term category plus the adult-mode rewrites and the forced negative prompt."""

    youth: TermSet
    ambiguous_youth: TermSet
    sexual: TermSet
    suggestive: TermSet
    undress: TermSet
    undress_photo: TermSet
    real_people: TermSet
    benign: TermSet
    adult_words: TermSet
    rewrites: dict[str, str]
    anti_minor_negative: str
    benign_phrases: tuple[str, ...] = ()

    @cached_property
    def english(self) -> frozenset[str]:
        """Stems of every one-word Latin term: such tokens are not read as transliteration."""
        sets = (self.youth, self.ambiguous_youth, self.sexual, self.suggestive, self.undress)
        words = {p[0] for s in (*sets, self.benign) for p in s.phrases if len(p) == 1}
        return frozenset(w for w in words if w.isascii())


def load_lexicon(policy_dir: Path = DEFAULT_POLICY_DIR) -> Lexicon:
    """Read every term list and rewrites.yaml from a policy directory."""
    sets = {name: load_terms(policy_dir / f"{name}.txt") for name in _LISTS}
    path = policy_dir / "rewrites.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TermListError(f"{path}: cannot read rewrites: {exc}") from exc
    rewrites = {str(k).casefold(): str(v) for k, v in (raw.get("rewrites") or {}).items()}
    negative = str(raw.get("negative_prompt") or "").strip()
    if not negative:
        raise TermListError(f"{path}: negative_prompt must not be empty")
    benign = tuple(_raw_lines(policy_dir / "benign.txt"))
    return Lexicon(**sets, rewrites=rewrites, anti_minor_negative=negative, benign_phrases=benign)


def _raw_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    entries = (line.split("#", 1)[0].strip().casefold() for line in lines)
    return [e for e in entries if e]


@lru_cache(maxsize=4)
def default_lexicon(policy_dir: Path = DEFAULT_POLICY_DIR) -> Lexicon:
    """The lexicon from config/policy, loaded on first use and kept."""
    return load_lexicon(policy_dir)
