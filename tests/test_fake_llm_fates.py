"""Under stormy, fates depend only on (seed, profile, fingerprint, attempt): not on order or overlap.

The weather clock stands still (driven, as in a grading): with the clock moved by each request,
concurrent requests meet the weather's phases in their order of arrival (docs/fake-llm.md).
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from fake_llm.runner import FakeLLM

# The client gives up after 10 ms: the fate is decided and recorded at arrival, so there is no
# need to sit through stormy's spikes and hangs.
TIMEOUT = httpx.Timeout(10.0, read=0.01)


def requests_100() -> list[tuple[str, dict]]:
    out = []
    for i in range(100):
        paper = f"P{i + 1:04d}"
        if i % 2:
            out.append(("/v1/chat/completions", {
                "model": "sim-gpt-mini" if i % 3 else "sim-gpt-large", "stream": i % 5 == 0,
                "messages": [{"role": "user", "content": f"Extract the fields of {paper} as JSON."}]}))
        else:
            out.append(("/anthropic/v1/messages", {
                "model": "sim-claude-large", "max_tokens": 500, "stream": i % 4 == 0,
                "messages": [{"role": "user", "content": f"Summarize paper {paper}."}]}))
    return out


def send(base_url: str, item: tuple[str, dict]) -> None:
    path, body = item
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            client.post(base_url + path, json=body).read()
    except httpx.HTTPError:
        pass  # resets, cuts and our own read timeout: the ledger has the fate


def fates(seed: int, items: list, parallel: int) -> dict[tuple[str, int], tuple[str, float]]:
    with FakeLLM(profile="stormy", seed=seed, clock="driven") as fake:
        if parallel == 1:
            for item in items:
                send(fake.base_url, item)
        else:
            with ThreadPoolExecutor(parallel) as pool:
                list(pool.map(lambda it: send(fake.base_url, it), items))
        rows = fake.admin.ledger()
        for _ in range(100):  # bounded: every request has arrived once the count is right
            if len(rows) == len(items):
                break
            time.sleep(0.05)
            rows = fake.admin.ledger()
    assert len(rows) == len(items)
    return {(r["fingerprint"], r["attempt"]): (r["fault"], r["delay_ms"]) for r in rows}


def test_same_seed_same_fates_in_any_order_and_interleaving():
    items = requests_100() * 2  # each request twice: attempts 1 and 2
    shuffled = list(items)
    random.Random(5).shuffle(shuffled)
    sequential = fates(3, items, parallel=1)
    concurrent = fates(3, shuffled, parallel=10)
    assert len(sequential) == 200
    assert sequential == concurrent
    faults = [fault for fault, _ in sequential.values()]
    assert len(set(faults)) >= 5, "stormy should show a variety of faults"
    other_seed = fates(4, items, parallel=10)
    assert set(other_seed) == set(sequential)
    assert other_seed != sequential
