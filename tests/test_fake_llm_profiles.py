"""Profiles load, resolve overrides, and refuse bad files and knobs with a precise message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fake_llm.profiles import LEVELS, ProfileError, load_profile, parse_setting


@pytest.mark.parametrize("level", LEVELS)
def test_every_shipped_level_loads(level):
    profile = load_profile(level)
    assert profile.name == level and len(profile.digest) == 16


def test_levels_rise_in_difficulty():
    def total(level: str) -> float:
        return sum(p for _, p in load_profile(level).knobs("sim-gpt-large").faults)

    medians = [load_profile(level).knobs("sim-gpt-large").latency.median_ms for level in LEVELS]
    assert [total(level) for level in LEVELS] == sorted(total(level) for level in LEVELS)
    assert medians == sorted(medians) and total("calm") == 0


def test_provider_and_model_overrides_resolve_in_order():
    profile = load_profile("realistic")
    statuses = {m: dict((f.kind, f) for f, _ in profile.knobs(m).faults)["http_error"].statuses
                for m in ("sim-gpt-large", "sim-claude-large")}
    assert 529 in statuses["sim-claude-large"] and 529 not in statuses["sim-gpt-large"]
    fences = {m: dict((f.kind, p) for f, p in profile.knobs(m).faults)["json_fences"]
              for m in ("sim-gpt-large", "sim-gpt-mini")}
    assert fences["sim-gpt-mini"] > fences["sim-gpt-large"]


def test_settings_override_knobs_and_change_the_digest():
    base = load_profile("calm")
    tuned = load_profile("calm", {"faults.reset.probability": 0.5, "latency.median_ms": 1})
    kinds = {f.kind: p for f, p in tuned.knobs("sim-gpt-mini").faults}
    assert kinds == {"reset": 0.5}
    assert tuned.knobs("sim-gpt-mini").latency.median_ms == 1
    assert tuned.digest != base.digest


@pytest.mark.parametrize(("text", "expected"), [
    ("a.b=0.5", ("a.b", 0.5)), ("a=true", ("a", True)), ("a=[429, 503]", ("a", [429, 503])),
    ("a=hello", ("a", "hello")),
])
def test_parse_setting_reads_toml_values(text, expected):
    assert parse_setting(text) == expected


@pytest.mark.parametrize(("toml", "needles"), [
    ("[latency]\nmedain_ms = 3\n", ["latency.medain_ms", "unknown knob", "median_ms"]),
    ("[faults.htp_error]\nprobability = 0.1\n", ["faults.htp_error", "unknown fault kind", "http_error"]),
    ("[faults.reset]\nprobability = 1.5\n", ["faults.reset.probability", "0 to 1"]),
    ("[faults.http_error]\nprobability = 0.1\nretry_after_ms = 'soon'\n",
     ["faults.http_error.retry_after_ms", "integer"]),
    ("[faults.reset]\nprobability = 0.6\n[faults.hang]\nprobability = 0.6\n", ["add up to 1.200"]),
    ("[providers.azure]\n", ["providers.azure", "openai"]),
    ("[models.gpt-9.latency]\nmedian_ms = 1\n", ["models.gpt-9", "sim-gpt-large"]),
    ("colour = 'red'\n", ["colour", "unknown knob"]),
    ("[latency\n", ["not valid TOML"]),
])
def test_bad_profile_files_are_refused_naming_file_and_key(tmp_path, toml, needles):
    path = tmp_path / "mine.toml"
    path.write_text(toml)
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    message = str(caught.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message


def test_unknown_profile_lists_the_levels():
    with pytest.raises(ProfileError, match="calm, realistic, stormy, hurricane"):
        load_profile("tornado")


@pytest.mark.parametrize(("args", "needle"), [
    (["--profile", "tornado"], "unknown profile 'tornado'"),
    (["--set", "faults.nope.probability=0.1"], "faults.nope: unknown fault kind"),
    (["--set", "novalue"], "expected knob=value"),
])
def test_cli_refuses_bad_profile_or_knob_without_traceback(args, needle):
    result = subprocess.run([sys.executable, "-m", "fake_llm", "serve", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert needle in result.stderr and "Traceback" not in result.stderr
