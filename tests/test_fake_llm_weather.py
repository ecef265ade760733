"""Weather with time structure: a schedule that is a pure function of the seed and the clock, phases
that change what requests meet on the fake's own clock, and knobs refused with clear errors."""

from __future__ import annotations

import itertools
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_llm.cli import phase_line, weather_banner
from fake_llm.faults import Plan, RequestContext
from fake_llm.model import read_prompt
from fake_llm.profiles import ProfileError, build_profile, load_profile
from fake_llm.runner import FakeLLM
from fake_llm.weather import Schedule, Weather, WeatherKnobs, phase_kinds
from fake_llm.weather.phases import LatencyRegime, Outage, RateLimitStorm, StormHolds
from fake_llm.weather.schedule import Sky, Window
from graders import soak

ROOT = Path(__file__).resolve().parents[1]
OPENAI = {"model": "sim-gpt-large", "messages": [{"role": "user", "content": "Summarise P0007"}]}
ANTHROPIC = {"model": "sim-claude-large", "max_tokens": 200,
             "messages": [{"role": "user", "content": "Summarise P0007"}]}
QUIET = {"latency": {"delay_ms": 2}, "stream": {"chunk_interval_ms": 0}}


def knobs_with(*phases: dict[str, Any], cycle_ticks: int = 20) -> dict[str, Any]:
    return {**QUIET, "weather": {"cycle_ticks": cycle_ticks, "phases": list(phases)}}


def use(fake: FakeLLM, knobs: dict[str, Any], mode: str = "requests") -> None:
    _put(fake, knobs)
    fake.admin.set_clock(mode=mode)
    fake.admin.reset()


def _put(fake: FakeLLM, knobs: dict[str, Any]) -> None:
    response = httpx.put(f"{fake.base_url}/_chaos/profile", json={"knobs": knobs}, timeout=10)
    assert response.status_code == 200, response.text


def ask_openai(fake: FakeLLM, text: str = "Summarise P0007", model: str = "sim-gpt-large") -> httpx.Response:
    body = {**OPENAI, "model": model, "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{fake.openai_base_url}/chat/completions", json=body, timeout=10)


def ask_anthropic(fake: FakeLLM, text: str = "Summarise P0007") -> httpx.Response:
    body = {**ANTHROPIC, "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{fake.anthropic_base_url}/v1/messages", json=body, timeout=10)


# --- the schedule is a pure function of seed, knobs and tick -------------------------------------

PHASES = (Outage(provider="openai", length_ticks=7), RateLimitStorm(share=0.5, length_ticks=3),
          LatencyRegime(p50_factor=2, p90_factor=5, length_ticks=11, start_tick=4))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), tick=st.integers(0, 10**9), cycle=st.integers(15, 500))
def test_the_schedule_is_a_pure_function_of_seed_knobs_and_tick(seed, tick, cycle):
    knobs = WeatherKnobs(cycle, PHASES, digest="d")
    one, other = Schedule(knobs, seed), Schedule(knobs, seed)
    other.active(tick + cycle)  # another cycle asked first changes nothing
    assert one.active(tick) == other.active(tick)
    start = (tick // cycle) * cycle
    for window in one.windows(tick // cycle):
        assert start <= window.start_tick < window.end_tick <= start + cycle
        assert window.end_tick - window.start_tick == window.phase.length_ticks
    pinned = one.windows(tick // cycle)[2]
    assert pinned.start_tick == start + 4


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), start=st.integers(0, 300), length=st.integers(1, 300))
def test_segments_cut_a_range_into_stretches_of_the_same_phases(seed, start, length):
    schedule = Schedule(WeatherKnobs(40, PHASES, digest="d"), seed)
    segments = schedule.segments(start, start + length)
    assert segments[0].start_tick == start and segments[-1].end_tick == start + length
    for earlier, later in itertools.pairwise(segments):
        assert earlier.end_tick == later.start_tick and earlier.windows != later.windows
    for segment in segments:
        for tick in (segment.start_tick, segment.end_tick - 1):
            assert schedule.active(tick) == segment.windows


def test_the_seed_moves_the_phases_and_the_cycle_places_them_afresh():
    knobs = WeatherKnobs(100, (Outage(provider="openai", length_ticks=10),), digest="d")
    starts = {Schedule(knobs, seed).windows(0)[0].start_tick for seed in range(20)}
    assert len(starts) > 5
    schedule = Schedule(knobs, 3)
    by_cycle = {schedule.windows(c)[0].start_tick - 100 * c for c in range(20)}
    assert len(by_cycle) > 5


# --- phases on the fake's own clock ---------------------------------------------------------------

def test_an_outage_fails_every_request_to_its_provider_for_its_ticks_only(fake):
    use(fake, knobs_with({"kind": "outage", "provider": "openai", "status": 503,
                          "length_ticks": 3, "start_tick": 2}))
    statuses = [ask_openai(fake, f"Summarise P00{10 + i}").status_code for i in range(7)]
    assert statuses == [200, 200, 503, 503, 503, 200, 200]
    rows = fake.admin.ledger()
    assert [row["tick"] for row in rows] == list(range(7))
    assert [row["fault"] for row in rows][2:5] == ["outage"] * 3
    assert rows[2]["phase"] == "openai outage (503)" and rows[0]["phase"] == "clear"


def test_an_outage_of_one_provider_or_model_spares_the_others(fake):
    use(fake, knobs_with({"kind": "outage", "provider": "openai", "length_ticks": 20}))
    assert ask_openai(fake).status_code == 503
    assert ask_anthropic(fake).status_code == 200
    use(fake, knobs_with({"kind": "outage", "model": "sim-gpt-mini", "status": 529, "length_ticks": 20}))
    assert ask_openai(fake, model="sim-gpt-mini").status_code == 529
    assert ask_openai(fake, model="sim-gpt-large").status_code == 200
    assert ask_anthropic(fake).status_code == 200


def test_a_latency_regime_shifts_the_delay_for_its_ticks(fake):
    use(fake, knobs_with({"kind": "latency_regime", "p50_factor": 5, "length_ticks": 2, "start_tick": 1}))
    for i in range(4):
        ask_openai(fake, f"Summarise P00{20 + i}")
    assert [row["delay_ms"] for row in fake.admin.ledger()] == [2.0, 10.0, 10.0, 2.0]


def test_a_latency_regime_moves_the_p50_and_the_p90_by_their_factors():
    base = load_profile("stormy").knobs("sim-gpt-large").latency.model_copy(
        update={"spike_probability": 0})
    regime = LatencyRegime(p50_factor=2, p90_factor=6, length_ticks=1).shift(base)

    def quantiles(latency: Any) -> tuple[float, float]:
        rng = random.Random(5)
        draws = sorted(latency.draw_s(rng) for _ in range(4000))
        return draws[2000], draws[3600]

    (p50, p90), (p50_after, p90_after) = quantiles(base), quantiles(regime)
    assert p50_after / p50 == pytest.approx(2, rel=0.1)
    assert p90_after / p90 == pytest.approx(6, rel=0.1)


def test_a_storm_refuses_its_share_with_a_truthful_retry_after(fake):
    use(fake, knobs_with({"kind": "rate_limit_storm", "share": 1.0, "retry_after_ms": 5000,
                          "length_ticks": 20}))
    first = ask_openai(fake)
    assert first.status_code == 429
    assert first.headers["retry-after-ms"] == "5000" and first.headers["retry-after"] == "5"
    again = ask_openai(fake)  # too soon: refused again, told the time still to wait
    assert again.status_code == 429 and 0 < int(again.headers["retry-after-ms"]) <= 5000
    assert [row["fault"] for row in fake.admin.ledger()] == ["rate_limit_storm"] * 2


def test_a_retry_after_the_storms_wait_passes_the_storm():
    holds = StormHolds()
    storm = RateLimitStorm(share=1.0, retry_after_ms=500, length_ticks=5)
    ctx = RequestContext("openai", "sim-gpt-large", read_prompt("Summarise P0007"), False)

    def meet(now_s: float, fp: str = "fp") -> Plan:
        sky = Sky(0, (Window(0, 5, storm),), fp, 0.0, now_s, holds)
        return sky.overrule(Plan(delay_s=0.1), ctx)

    refused = meet(8.0)
    assert refused.faults == ["rate_limit_storm"] and refused.http_error is not None
    assert refused.http_error.retry_after_ms == 500
    too_soon = meet(8.25)
    assert too_soon.http_error is not None and too_soon.http_error.retry_after_ms == 250
    assert meet(8.5).faults == []  # waited as told: passes
    assert meet(8.5, fp="other").faults == ["rate_limit_storm"]  # another request draws afresh


def test_storm_shares_are_drawn_per_request_and_spare_the_rest():
    storm = RateLimitStorm(share=0.3, length_ticks=5)
    ctx = RequestContext("openai", "sim-gpt-large", read_prompt("hi"), False)
    refused = 0
    for i in range(1000):
        sky = Sky(0, (Window(0, 5, storm),), f"fp{i}", i / 1000, 0.0, StormHolds())
        plan = Plan(delay_s=0.1, faults=["json_fences"])
        after = sky.overrule(plan, ctx)
        refused += after.faults == ["rate_limit_storm"]
        assert after is plan or after.faults == ["rate_limit_storm"]
    assert refused == 300


def test_scripted_rules_are_untouched_by_the_weather(fake):
    use(fake, knobs_with({"kind": "outage", "provider": "openai", "length_ticks": 20},
                         {"kind": "latency_regime", "p50_factor": 50, "length_ticks": 20}))
    fake.admin.script([{"fault": {"kind": "latency", "delay_ms": 3}, "times": None}])
    assert ask_openai(fake).status_code == 200
    row = fake.admin.ledger()[-1]
    assert (row["fault"], row["delay_ms"]) == ("latency", 3.0)
    assert "openai outage" in row["phase"]  # the weather was there, and the script won


def test_a_driven_clock_moves_only_when_told(fake):
    use(fake, knobs_with({"kind": "outage", "provider": "openai", "length_ticks": 5, "start_tick": 10}),
        mode="driven")
    for _ in range(12):
        assert ask_openai(fake).status_code == 200
    assert fake.admin.weather()["tick"] == 0
    view = fake.admin.set_clock(11)
    assert (view["mode"], view["tick"], view["phase"]) == ("driven", 11, "openai outage (503)")
    assert ask_openai(fake).status_code == 503
    assert fake.admin.set_clock(advance=4)["phase"] == "clear"
    fake.admin.reset()
    assert (fake.admin.weather()["tick"], fake.admin.weather()["mode"]) == (0, "driven")


def test_the_admin_api_shows_the_phase_and_the_schedule(fake):
    use(fake, knobs_with({"kind": "outage", "provider": "anthropic", "length_ticks": 5, "start_tick": 3},
                         cycle_ticks=10))
    view = fake.admin.weather(0, 20)
    assert [(s["start_tick"], s["end_tick"], s["phase"]) for s in view["schedule"]] == [
        (0, 3, "clear"), (3, 8, "anthropic outage (503)"), (8, 13, "clear"),
        (13, 18, "anthropic outage (503)"), (18, 20, "clear")]
    assert view["cycle_ticks"] == 10 and view["phases"][0]["kind"] == "outage"


def test_a_grading_fake_drives_its_clock_and_shows_no_phase_header():
    with FakeLLM(profile="stormy", seed=1, grading=True) as graded:
        assert graded.admin.weather()["mode"] == "driven"
        graded.admin.set_clock(0)
        response = ask_openai(graded)
        assert not any(name.startswith("x-fake-llm") for name in response.headers)
    with FakeLLM(profile="calm") as local:
        assert ask_openai(local).headers["x-fake-llm-phase"] == "clear"


@pytest.mark.parametrize("body", [{"tick": -1}, {"tick": "3"}, {"tick": True}, {"tick": 1, "advance": 1},
                                  {"mode": "fast"}, {}, {"when": 3}])
def test_bad_clock_moves_are_refused(fake, body):
    response = httpx.post(f"{fake.base_url}/_chaos/clock", json=body, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["message"]


# --- the shipped levels ---------------------------------------------------------------------------

def test_the_levels_weather_rises_with_difficulty():
    def kinds(level: str) -> dict[str, Any]:
        return {phase.kind: phase for phase in load_profile(level).weather.phases}

    assert kinds("calm") == {}
    assert set(kinds("realistic")) == {"latency_regime"}
    stormy, hurricane = kinds("stormy"), kinds("hurricane")
    for level in (stormy, hurricane):
        assert level["outage"].provider == "openai"  # the primary of every candidate app
    assert hurricane["outage"].length_ticks > stormy["outage"].length_ticks
    assert hurricane["rate_limit_storm"].length_ticks > stormy["rate_limit_storm"].length_ticks


# --- bad knobs ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("weather", "needles"), [
    ({"cycle_ticks": 0}, ["weather.cycle_ticks", "from 1 to"]),
    ({"tempo": 3}, ["weather.tempo", "allowed: cycle_ticks, phases"]),
    ({"phases": {"kind": "outage"}}, ["weather.phases", "list of tables"]),
    ({"phases": [{"kind": "drizzle", "length_ticks": 3}]},
     ["weather.phases[0].kind", "allowed: latency_regime, outage, rate_limit_storm"]),
    ({"phases": [{"kind": "outage", "length_ticks": 3}]},
     ["weather.phases[0]", "needs a provider or a model"]),
    ({"phases": [{"kind": "outage", "provider": "azure", "length_ticks": 3}]},
     ["unknown provider 'azure'", "allowed: openai, anthropic"]),
    ({"phases": [{"kind": "outage", "provider": "openai", "status": 404, "length_ticks": 3}]},
     ["allowed: 500, 502, 503, 504, 529"]),
    ({"phases": [{"kind": "rate_limit_storm", "share": 1.5, "length_ticks": 3}]},
     ["weather.phases[0].share", "less than or equal to 1"]),
    ({"phases": [{"kind": "rate_limit_storm", "share": 0.5, "length_ticks": 3, "gust": 1}]},
     ["weather.phases[0].gust", "unknown knob", "retry_after_ms"]),
    ({"phases": [{"kind": "latency_regime", "p50_factor": 3, "p90_factor": 2, "length_ticks": 3}]},
     ["p90_factor (2.0) must be at least p50_factor"]),
    ({"phases": [{"kind": "latency_regime", "p50_factor": 2}]},
     ["weather.phases[0].length_ticks", "required"]),
    ({"cycle_ticks": 10, "phases": [{"kind": "latency_regime", "p50_factor": 2, "length_ticks": 8,
                                     "start_tick": 5}]}, ["must fit in weather.cycle_ticks (10)"]),
])
def test_bad_weather_knobs_are_refused_naming_file_key_and_allowed_values(weather, needles):
    with pytest.raises(ProfileError) as refused:
        build_profile("custom", "my.toml", {"weather": weather})
    message = str(refused.value)
    assert message.startswith("my.toml: ")
    for needle in needles:
        assert needle in message, message


def test_weather_is_not_overridden_per_provider():
    with pytest.raises(ProfileError, match=r"providers\.openai\.weather: unknown knob"):
        build_profile("custom", "my.toml", {"providers": {"openai": {"weather": {}}}})


def test_a_refused_weather_change_over_the_admin_api_keeps_the_old_one(fake):
    use(fake, knobs_with({"kind": "outage", "provider": "openai", "length_ticks": 3}))
    response = httpx.put(f"{fake.base_url}/_chaos/profile",
                         json={"set": {"weather.cycle_ticks": -1}}, timeout=10)
    assert response.status_code == 400 and "weather.cycle_ticks" in response.json()["error"]["message"]
    assert fake.admin.weather()["phases"][0]["kind"] == "outage"


# --- serve shows the phase changes ----------------------------------------------------------------

def test_serve_prints_the_weather_and_each_change_of_phase(tmp_path):
    profile = tmp_path / "gusty.toml"
    profile.write_text('[latency]\ndelay_ms = 1\n[weather]\ncycle_ticks = 10\n[[weather.phases]]\n'
                       'kind = "outage"\nprovider = "openai"\nlength_ticks = 2\nstart_tick = 3\n')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "fake_llm", "serve", "--port", str(port),
                               "--profile", str(profile)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        for i in range(6):
            httpx.post(f"{base}/v1/chat/completions", json={**OPENAI, "messages": [
                {"role": "user", "content": f"hello {i}"}]}, timeout=10)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "ticks 3-4: openai outage (503)" in output
    assert "phase: openai outage (503) [ticks 3-4]" in output
    assert "phase: clear [ticks 5-12]" in output


def test_the_console_lines_name_the_phase_and_its_ticks():
    weather = Weather(load_profile("calm").weather, 0)
    assert "clear (no phases)" in weather_banner(weather)
    stormy = Weather(load_profile("stormy").weather, 0)
    banner = weather_banner(stormy)
    assert "120-tick cycle" in banner and "openai outage (503)" in banner
    heard: list[str] = []
    stormy.on_change = lambda tick, segment: heard.append(phase_line(tick, segment))
    for _ in range(120):
        stormy.sky("fp", 0.5, 0.0)
    assert any(line.startswith("phase: openai outage (503) [ticks ") for line in heard)
    assert heard[-1].startswith("phase: clear")


# --- the soak walks one weather cycle -------------------------------------------------------------

def test_soak_legs_spread_the_requests_over_one_cycle():
    weather = Weather(WeatherKnobs(120, (Outage(provider="openai", length_ticks=20, start_tick=30),),
                                   digest="d"), 0)
    view = weather.view(0, 120)
    for n in (30, 120, 300):
        legs = soak.weather_legs(n, view)
        assert [leg.phase for leg in legs] == ["clear", "openai outage (503)", "clear"]
        assert legs[0].first == 0 and legs[-1].stop == n
        assert all(a.stop == b.first for a, b in itertools.pairwise(legs))
        outage = legs[1]
        assert outage.refuses and outage.stop - outage.first == pytest.approx(n * 20 / 120, abs=1)


def test_the_soak_sets_the_clock_before_each_leg(monkeypatch):
    class Recorder:
        def __init__(self) -> None:
            self.weather_state = Weather(WeatherKnobs(10, (Outage(provider="openai", length_ticks=3,
                                                                  start_tick=4),), digest="d"), 0)
            self.ticks: list[int] = []

        def weather(self, from_tick: int | None = None, to_tick: int | None = None) -> dict[str, Any]:
            return self.weather_state.view(from_tick, to_tick)

        def set_clock(self, tick: int | None = None, **_: Any) -> dict[str, Any]:
            assert tick is not None
            self.ticks.append(tick)
            return {}

    monkeypatch.setattr(soak, "CLEARING_S", 0.0)
    monkeypatch.setattr(soak, "PACE_S", 0.0)
    monkeypatch.setattr(soak, "send", lambda client, request: soak.SoakResponse(failure="not sent"))
    recorder = Recorder()
    report = soak.run_soak("http://127.0.0.1:9", soak.soak_requests(20, 0), 4, weather=recorder, cover=False)
    assert recorder.ticks == [0, 4, 7]
    assert [(leg.first, leg.stop) for leg in report.legs] == [(0, 8), (8, 14), (14, 20)]
    assert len(report.outcomes) == 20


def test_every_phase_kind_and_knob_is_documented():
    doc = (ROOT / "docs" / "fake-llm.md").read_text()
    assert "`weather.cycle_ticks`" in doc and "`POST /_chaos/clock`" in doc
    for kind, cls in phase_kinds().items():
        assert f"| `{kind}` |" in doc
        for name in cls.model_fields:
            assert f"`{name}`" in doc, f"{kind}.{name}"
