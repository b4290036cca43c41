"""Term lists (data files under config/policy) compiled into stemmed phrase matchers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from backend.services.content_policy.normalize import Normalised, canonical, fold_text, tokenise

Span = tuple[int, int]


class TermListError(Exception):
    """Raised when a term list file is missing or unreadable."""


@dataclass(frozen=True)
class TermSet:
    """One category of phrases, matched on stems; `~word` also matches inside compounds."""

    name: str
    phrases: frozenset[tuple[str, ...]]
    infixes: frozenset[str] = frozenset()
    _by_first: dict[str, list[tuple[str, ...]]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for phrase in self.phrases:
            index[phrase[0]].append(phrase)
        self._by_first.update(index)

    def find(self, text: Normalised) -> list[Span]:
        """Token spans [start, end) where a phrase of this set occurs."""
        spans: list[Span] = []
        for i, readings in enumerate(text.positions):
            for phrase in (p for r in readings for p in self._by_first.get(r, ())):
                if _matches_at(text, i, phrase):
                    spans.append((i, i + len(phrase)))
            if self.infixes and any(inf in r for r in readings for inf in self.infixes):
                spans.append((i, i + 1))
        return sorted(set(spans))


def _matches_at(text: Normalised, start: int, phrase: tuple[str, ...]) -> bool:
    if start + len(phrase) > len(text.positions):
        return False
    return all(stem in text.positions[start + j] for j, stem in enumerate(phrase))


def parse_terms(name: str, lines: list[str]) -> TermSet:
    """Compile term lines (one phrase each, `#` comments, `~` marks compound-word matching)."""
    phrases: set[tuple[str, ...]] = set()
    infixes: set[str] = set()
    for line in lines:
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if entry.startswith("~"):
            entry = entry[1:].strip()
            infixes.add(fold_text(entry).strip())
        phrase = tuple(canonical(t) for t in tokenise(fold_text(entry)))
        if phrase:
            phrases.add(phrase)
    return TermSet(name, frozenset(phrases), frozenset(infixes))


def load_terms(path: Path) -> TermSet:
    """Read one term list file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TermListError(f"{path}: cannot read term list: {exc}") from exc
    return parse_terms(path.stem, lines)
