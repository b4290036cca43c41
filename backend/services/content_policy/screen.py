"""The prompt screen: category rules over normalised prompt and negative prompt."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from backend.services.content_policy.ages import bare_minor_numbers, has_minor_age
from backend.services.content_policy.lexicon import Lexicon, default_lexicon
from backend.services.content_policy.normalize import Normalised, normalise
from backend.services.content_policy.terms import Span, TermSet
from common.error_codes import ErrorCode

Policy = Literal["sfw", "adult"]


@dataclass(frozen=True)
class PromptDecision:
    """Outcome of screening one request; error_code names a category, never the words."""

    allowed: bool
    error_code: str | None
    prompt: str
    negative_prompt: str
    strike: bool


@dataclass(frozen=True)
class Findings:
    """Which term categories a normalised prompt contains (carve-outs already removed)."""

    youth: bool
    ambiguous_youth: bool
    minor_age: bool
    bare_number: bool
    sexual: bool
    suggestive: bool
    undress: bool
    undress_photo: bool
    real_person: bool


def find(text: Normalised, lex: Lexicon) -> Findings:
    """Categories present in a normalised text."""
    benign = lex.benign.find(text)

    def hit(terms: TermSet) -> bool:
        return any(not _inside(span, benign) for span in terms.find(text))

    return Findings(
        youth=hit(lex.youth),
        ambiguous_youth=hit(lex.ambiguous_youth),
        minor_age=has_minor_age(" ".join(text.tokens)),
        bare_number=bool(bare_minor_numbers(text.text)),
        sexual=hit(lex.sexual),
        suggestive=hit(lex.suggestive),
        undress=hit(lex.undress),
        undress_photo=hit(lex.undress_photo),
        real_person=hit(lex.real_people),
    )


def _inside(span: Span, covers: list[Span]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in covers)


def _refuse(code: ErrorCode, prompt: str, negative: str, *, strike: bool = False) -> PromptDecision:
    return PromptDecision(False, code.value, prompt, negative, strike)


def screen_prompt(
    prompt: str,
    negative_prompt: str,
    *,
    policy: Policy,
    image_conditioned: bool,
    adult_confirmed: bool,
    lexicon: Lexicon | None = None,
) -> PromptDecision:
    """Apply the text side of the content policy to one request."""
    lex = lexicon or default_lexicon()
    pos = find(normalise(prompt, lex.english), lex)
    code, strike = _refusal(pos, policy=policy, image_conditioned=image_conditioned)
    if code is None and policy == "adult":
        return _adult(prompt, negative_prompt, pos, lex, adult_confirmed=adult_confirmed)
    if code is None and (pos.sexual or pos.suggestive or pos.undress):
        code = _negative_refusal(negative_prompt, lex)
    if code is not None:
        return _refuse(code, prompt, negative_prompt, strike=strike)
    return PromptDecision(True, None, prompt, negative_prompt, False)


def _refusal(
    pos: Findings, *, policy: Policy, image_conditioned: bool
) -> tuple[ErrorCode | None, bool]:
    """The rules that hold in every policy, then the sfw rule, in order; (code, strike)."""
    sexual = pos.sexual or pos.undress
    aroused = sexual or pos.suggestive
    rules = (
        ((pos.youth or pos.minor_age) and aroused, ErrorCode.POLICY_MINORS, True),
        # "girl, 12, nude": a lone number under 18 beside sexual words reads as an age,
        # refused, but too weak a sign for a strike.
        (pos.bare_number and aroused, ErrorCode.POLICY_MINORS, False),
        (image_conditioned and (pos.undress or pos.undress_photo), ErrorCode.POLICY_UNDRESS, False),
        (pos.real_person and aroused, ErrorCode.POLICY_REAL_PERSON, False),
        (image_conditioned and sexual, ErrorCode.POLICY_NUDITY, False),
        # "make her sexy" on someone's photo sexualises a real person, whatever the policy.
        (image_conditioned and pos.suggestive, ErrorCode.POLICY_REAL_PERSON, False),
        (policy == "sfw" and pos.undress, ErrorCode.POLICY_UNDRESS, False),
        (policy == "sfw" and pos.sexual, ErrorCode.POLICY_NUDITY, False),
    )
    for fired, code, strike in rules:
        if fired:
            return code, strike
    return None, False


def _negative_refusal(negative: str, lex: Lexicon) -> ErrorCode | None:
    """Adult-age words in a negative prompt steer the model toward minors."""
    if lex.adult_words.find(normalise(negative, lex.english)):
        return ErrorCode.POLICY_MINORS
    return None


def _adult(
    prompt: str, negative: str, pos: Findings, lex: Lexicon, *, adult_confirmed: bool
) -> PromptDecision:
    """Adult policy: confirmation, no stated minor ages, youth rewritten, anti-minor negative."""
    if pos.minor_age:
        return _refuse(ErrorCode.POLICY_MINORS, prompt, negative)
    if (code := _negative_refusal(negative, lex)) is not None:
        return _refuse(code, prompt, negative)
    if (pos.sexual or pos.undress) and not adult_confirmed:
        return _refuse(ErrorCode.ADULT_CONFIRMATION_REQUIRED, prompt, negative)
    rewritten = rewrite_youth(prompt, lex)
    again = find(normalise(rewritten, lex.english), lex)
    if again.youth or again.minor_age:
        # Youth words the rewrite cannot reach (obfuscated, or no adult form) are refused.
        return _refuse(ErrorCode.POLICY_MINORS, prompt, negative)
    forced = lex.anti_minor_negative
    if negative.strip():
        forced = f"{negative}, {forced}"
    return PromptDecision(True, None, rewritten, forced, False)


def rewrite_youth(prompt: str, lex: Lexicon) -> str:
    """Replace youth words with their adult forms (whole words, any case)."""
    if not lex.rewrites:
        return prompt
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    # Carve-outs ("kid gloves") are set aside so their words are not rewritten.
    text = _alternation(lex.benign_phrases).sub(keep, prompt) if lex.benign_phrases else prompt
    adult_form = lex.rewrites
    text = _alternation(tuple(adult_form)).sub(lambda m: adult_form[m.group(0).casefold()], text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _alternation(words: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, ordered)) + r")\b", re.IGNORECASE)
