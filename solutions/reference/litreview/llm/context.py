"""What one user request may spend: time, tokens and attempts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from litreview.clock import Deadline
from litreview.errors import BudgetExceeded
from litreview.llm.types import Usage


class UsageMeter:
    """Tokens spent by one user request across every attempt and provider, against its budget."""

    def __init__(self, budget_tokens: int) -> None:
        self.budget_tokens = budget_tokens
        self.usage = Usage()

    def add(self, usage: Usage) -> None:
        """Count the tokens one call reported (failed calls included)."""
        self.usage = self.usage + usage

    @property
    def spent(self) -> int:
        return self.usage.total_tokens

    def check(self) -> None:
        """Raise :class:`BudgetExceeded` once the spending has reached the budget."""
        if self.spent >= self.budget_tokens:
            raise BudgetExceeded(
                f"spent {self.spent} of a {self.budget_tokens}-token budget without an answer"
            )


@dataclass
class RequestContext:
    """One user request (or one item of a batch): its deadline, its meter, its attempt counts.

    Items of a batch share one meter (the budget is the batch's) but count attempts apart.
    """

    deadline: Deadline
    meter: UsageMeter
    attempts: Counter[str] = field(default_factory=Counter)
