"""Text side of the content policy: prompt normalisation, term lists and the screening rules."""

from backend.services.content_policy.lexicon import Lexicon, default_lexicon, load_lexicon
from backend.services.content_policy.screen import PromptDecision, screen_prompt
from backend.services.content_policy.terms import TermListError

__all__ = [
    "Lexicon",
    "PromptDecision",
    "TermListError",
    "default_lexicon",
    "load_lexicon",
    "screen_prompt",
]
