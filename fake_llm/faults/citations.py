"""Citation faults: the answer's text, markers and whitespace included, exactly as a check needs it."""

from __future__ import annotations

import random

from pydantic import Field

from fake_llm.faults.base import RequestContext
from fake_llm.faults.content import _ContentFault


class AnswerText(_ContentFault):
    """The model's answer is ``text``, verbatim: its markers (valid or not), line breaks and runs
    of spaces exactly as given, or no marker at all. Other content faults apply after it."""

    kind = "answer_text"
    family = "content"
    order = -1
    tasks = ("answer",)

    text: str = Field(min_length=1, max_length=4000)

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        return self.text
