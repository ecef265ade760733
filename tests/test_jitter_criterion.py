"""The jitter check's criterion (graders.checks.scenario.jitter_problem): full jitter always
passes, a backoff without jitter never does however much a loaded machine lengthens its waits, and
a fixed delay shorter than the base never does while fewer than half of its waits are lengthened."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from graders.checks.scenario import jitter_problem

WAITS = 24  # first retries the check measures
BASE_S = 0.1  # the retries brief's backoff base


@given(st.integers(min_value=0, max_value=2**32), st.floats(min_value=0.0, max_value=0.05))
def test_full_jitter_passes(seed, noise_s):
    rng = random.Random(seed)
    waits = [rng.uniform(0.0, 0.1) + 0.002 + rng.uniform(0.0, noise_s) for _ in range(WAITS)]
    assert jitter_problem(waits, BASE_S) is None


@given(st.floats(min_value=BASE_S, max_value=1.0),
       st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=WAITS, max_size=WAITS))
def test_a_backoff_without_jitter_never_passes_however_its_waits_are_lengthened(delay_s, extra):
    assert jitter_problem([delay_s + seconds for seconds in extra], BASE_S) is not None


@given(st.floats(min_value=0.0, max_value=1.0),
       st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=WAITS // 2 - 1,
                max_size=WAITS // 2 - 1))
def test_a_fixed_delay_never_passes_while_fewer_than_half_of_its_waits_are_lengthened(delay_s, extra):
    waits = [delay_s + 0.0005 * (i % 3) for i in range(WAITS)]  # a little noise on every wait
    for index, seconds in enumerate(extra):  # and any amount on fewer than half of them
        waits[index] += seconds
    assert jitter_problem(waits, BASE_S) is not None


def test_the_waits_seen_under_load_that_passed_the_old_spread_criterion_now_fail():
    # flawed/no-jitter at --jobs 12: p10 103 ms, p90 137 ms passed "p90 - p10 >= 30 ms"
    waits_ms = [102, 102, 103, 104, 104, 104, 104, 105, 105, 106, 106, 107, 107, 111, 112, 113,
                119, 120, 126, 126, 134, 138, 148, 148]
    problem = jitter_problem([ms / 1000 for ms in waits_ms], BASE_S)
    assert problem is not None and "shortest 102 ms" in problem


def test_the_waits_seen_under_heavier_load_that_passed_the_spread_criterion_now_fail():
    # flawed/no-jitter in a calibration at 20 sessions: more than half of the waits lengthened
    waits_ms = [104, 104, 105, 106, 106, 114, 114, 118, 121, 121, 121, 121, 124, 124, 125, 127, 130,
                135, 135, 142, 142, 145, 154, 157]
    problem = jitter_problem([ms / 1000 for ms in waits_ms], BASE_S)
    assert problem is not None and "only 0 of 24 waits" in problem
