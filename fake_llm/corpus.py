"""The corpus of fake research papers, with the ground truth the simulated model answers from.

The corpus is generated once with faker from a fixed seed and committed as ``data/papers.json``,
so it is identical on every machine whatever faker version is installed. Regenerate it with
``python -m fake_llm.corpus`` (only when the generator changes on purpose).

A paper's *public* fields (id, title, authors, year, abstract) are what an app would hold in its
own database; the *ground truth* fields (population, intervention, outcome, sample_size,
effect_direction) are what a correct extraction must return.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Literal

EffectDirection = Literal["increase", "decrease", "no_effect"]

CORPUS_PATH = Path(__file__).parent / "data" / "papers.json"
CORPUS_SIZE = 240
_GENERATOR_SEED = 20261127

PUBLIC_FIELDS = ("paper_id", "title", "authors", "year", "abstract")
TRUTH_FIELDS = ("population", "intervention", "outcome", "sample_size", "effect_direction")

_POPULATIONS = [
    "adults with type 2 diabetes", "primary school children", "older adults living alone",
    "night-shift nurses", "university students", "patients after hip surgery",
    "adolescents with mild asthma", "pregnant women", "office workers", "stroke survivors",
    "smallholder farmers", "adults with chronic low back pain", "first-year teachers",
    "people with mild depression", "long-distance truck drivers", "patients on hemodialysis",
    "retired athletes", "new parents", "call-centre employees", "children with dyslexia",
]
_INTERVENTIONS = [
    "mindfulness training", "a low-carbohydrate diet", "daily vitamin D", "text-message reminders",
    "a standing desk", "peer tutoring", "high-intensity interval training", "cognitive behavioural therapy",
    "a sleep hygiene programme", "group walking sessions", "telehealth follow-up",
    "a school breakfast scheme",
    "blue-light filtering glasses", "financial incentives", "music therapy", "a smartphone coaching app",
    "yoga classes", "omega-3 supplements", "structured reading practice", "home visits by nurses",
]
_OUTCOMES = [
    "HbA1c", "reading fluency", "loneliness scores", "sleep quality", "exam results",
    "walking speed", "emergency visits", "blood pressure", "sick days", "depressive symptoms",
    "medication adherence", "body weight", "self-reported stress", "crop yield", "fall rate",
    "pain intensity", "job satisfaction", "hospital readmissions", "quality of life", "attention span",
]
_DESIGNS = ["randomized controlled trial", "cluster randomized trial", "pragmatic trial", "crossover trial"]
_DIRECTIONS: tuple[EffectDirection, ...] = ("increase", "decrease", "no_effect")


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper: public fields plus the ground truth a correct extraction returns."""

    paper_id: str
    title: str
    authors: tuple[str, ...]
    year: int
    abstract: str
    population: str
    intervention: str
    outcome: str
    sample_size: int
    effect_direction: EffectDirection

    def public(self) -> dict[str, object]:
        """The fields an app stores about a paper (no ground truth)."""
        return {"paper_id": self.paper_id, "title": self.title, "authors": list(self.authors),
                "year": self.year, "abstract": self.abstract}

    def truth(self) -> dict[str, object]:
        """The correct extraction of this paper."""
        return {name: getattr(self, name) for name in TRUTH_FIELDS}

    def effect_phrase(self) -> str:
        """How the paper's finding reads in prose, e.g. 'increased sleep quality'."""
        verb = {"increase": "increased", "decrease": "decreased", "no_effect": "did not change"}
        return f"{verb[self.effect_direction]} {self.outcome}"

    def summary(self) -> str:
        """The complete summary the simulated model gives of this paper.

        Deterministic, so a grader can tell a whole summary from a truncated one.
        """
        return (
            f"{self.paper_id} ({self.year}) studied {self.intervention} in {self.sample_size:,} "
            f"{self.population}. The authors report that {self.intervention} {self.effect_phrase()}. "
            f"Title: {self.title}. End of summary."
        )


def _generate() -> list[Paper]:
    from faker import Faker  # only needed to regenerate the committed data file

    fake = Faker()
    fake.seed_instance(_GENERATOR_SEED)
    rng = random.Random(_GENERATOR_SEED)
    papers = []
    for number in range(1, CORPUS_SIZE + 1):
        population = rng.choice(_POPULATIONS)
        intervention = rng.choice(_INTERVENTIONS)
        outcome = rng.choice(_OUTCOMES)
        design = rng.choice(_DESIGNS)
        # Log-uniform sizes: many small trials, some above 1,000 (so "1,024" drift is possible).
        sample_size = round(10 ** rng.uniform(1.4, 3.9))
        direction = rng.choice(_DIRECTIONS)
        paper = Paper(
            paper_id=f"P{number:04d}",
            title=f"{intervention.capitalize()} and {outcome} in {population}: a {design}",
            authors=tuple(fake.name() for _ in range(rng.randint(1, 5))),
            year=rng.randint(1998, 2026),
            abstract="",
            population=population,
            intervention=intervention,
            outcome=outcome,
            sample_size=sample_size,
            effect_direction=direction,
        )
        abstract = (
            f"{fake.sentence(nb_words=12)} We ran a {design} of {intervention} in "
            f"{sample_size:,} {population}. Compared with usual care, {intervention} "
            f"{paper.effect_phrase()}. {fake.sentence(nb_words=14)}"
        )
        papers.append(Paper(**{**asdict(paper), "authors": paper.authors, "abstract": abstract}))
    return papers


def write_corpus(path: Path = CORPUS_PATH) -> None:
    """Regenerate the committed corpus file from the generator."""
    rows = [asdict(p) for p in _generate()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


@cache
def corpus() -> dict[str, Paper]:
    """Every paper by id, loaded once from the committed data file."""
    rows = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
    papers = (Paper(**{**row, "authors": tuple(row["authors"])}) for row in rows)
    return {paper.paper_id: paper for paper in papers}


def get_paper(paper_id: str) -> Paper | None:
    """The paper with this id, or None."""
    return corpus().get(paper_id)


if __name__ == "__main__":
    write_corpus()
    print(f"wrote {CORPUS_SIZE} papers to {CORPUS_PATH}")
