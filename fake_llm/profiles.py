"""Chaos profiles: TOML files of knobs, validated once at load, resolved per provider and model.

A profile has a ``[latency]`` table (the latency every request meets), ``[stream]``,
``[rate_limit]``, and ``[faults.<kind>]`` tables holding a ``probability`` and that fault's
parameters. ``[providers.<provider>]`` and ``[models.<model>]`` hold the same tables and override
the base for one provider or one model (model over provider over base). ``[weather]`` schedules
phases on the weather clock (:mod:`fake_llm.weather`): ``cycle_ticks`` and a list
``[[weather.phases]]`` of tables, each a ``kind`` and its knobs; it is not overridden per provider
or model (a phase names its own target). Any knob can be set from the command line as
``--set dotted.key=value``.

Every error names the profile's file, the dotted key and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fake_llm.faults import Fault, fault_kinds
from fake_llm.faults.timing import Latency
from fake_llm.pricing import MODELS, PROVIDERS, ModelInfo
from fake_llm.weather import Phase, WeatherKnobs, phase_kinds

PROFILES_DIR = Path(__file__).parent / "profiles"
LEVELS = ("calm", "realistic", "stormy", "hurricane")
_SECTIONS = ("latency", "stream", "rate_limit", "faults")
_TOP_LEVEL = ("description", *_SECTIONS, "providers", "models", "weather")
_WEATHER_KEYS = ("cycle_ticks", "phases")
DEFAULT_CYCLE_TICKS = 100
MAX_CYCLE_TICKS = 1_000_000


class ProfileError(ValueError):
    """A profile or a knob was refused; the message names the file, the key and what is allowed."""


class StreamKnobs(BaseModel):
    """How a streamed answer is paced and cut into chunks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chunk_interval_ms: float = Field(default=5.0, ge=0)
    chunk_chars: int = Field(default=16, ge=1)


class RateLimitKnobs(BaseModel):
    """Per-API-key limits (0 = no limit): requests and tokens per minute, requests in flight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_per_minute: int = Field(default=0, ge=0)
    tokens_per_minute: int = Field(default=0, ge=0)
    max_in_flight: int = Field(default=0, ge=0)


@dataclass(frozen=True, slots=True)
class Knobs:
    """The knobs in force for one provider and model."""

    model: ModelInfo
    latency: Latency
    stream: StreamKnobs
    rate_limit: RateLimitKnobs
    faults: tuple[tuple[Fault, float], ...]


@dataclass
class Profile:
    """A validated profile: its name, where it came from, its knobs and their digest."""

    name: str
    source: str
    raw: dict[str, Any]
    digest: str = ""
    weather: WeatherKnobs = field(default_factory=WeatherKnobs)
    _knobs: dict[str, Knobs] = field(default_factory=dict, repr=False)

    def knobs(self, model: str) -> Knobs:
        """The knobs for a model (its provider's overrides included)."""
        return self._knobs[model]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "digest": self.digest,
                "knobs": copy.deepcopy(self.raw)}


def _fail(source: str, key: str, problem: str) -> ProfileError:
    return ProfileError(f"{source}: {key}: {problem}")


def _allowed(names: Any) -> str:
    return ", ".join(sorted(names))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validation_problem(error: ValidationError, allowed: Any) -> tuple[str, str]:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return where, f"unknown knob; allowed: {_allowed(allowed)}"
    return where, f"{first['msg']} (got {first.get('input')!r})"


def _build(source: str, prefix: str, cls: type[BaseModel], table: Any) -> Any:
    if not isinstance(table, dict):
        raise _fail(source, prefix, f"must be a table, got {table!r}")
    try:
        return cls(**table)
    except ValidationError as error:
        where, problem = _validation_problem(error, cls.model_fields)
        raise _fail(source, f"{prefix}.{where}", problem) from None
    except TypeError as error:  # e.g. a non-string key
        raise _fail(source, prefix, str(error)) from None


def _build_faults(source: str, prefix: str, table: Any) -> tuple[tuple[Fault, float], ...]:
    if not isinstance(table, dict):
        raise _fail(source, prefix, f"must be a table, got {table!r}")
    kinds = fault_kinds()
    built = []
    for kind, params in table.items():
        key = f"{prefix}.{kind}"
        if kind not in kinds:
            raise _fail(source, key, f"unknown fault kind; allowed: {_allowed(kinds)}")
        if kind == "latency":
            raise _fail(source, key, "latency is set in the [latency] table, not under faults")
        if not isinstance(params, dict):
            raise _fail(source, key, f"must be a table, got {params!r}")
        params = dict(params)
        probability = params.pop("probability", 0.0)
        if isinstance(probability, bool) or not isinstance(probability, int | float) or not (
            0 <= probability <= 1
        ):
            raise _fail(source, f"{key}.probability", f"must be a number from 0 to 1, got {probability!r}")
        built.append((_build(source, key, kinds[kind], params), float(probability)))
    total = sum(p for _, p in built)
    if total > 1 + 1e-9:
        raise _fail(source, prefix, f"fault probabilities add up to {total:.3f}; at most 1 is allowed")
    return tuple(built)


def _resolve(source: str, raw: dict[str, Any], model: ModelInfo) -> Knobs:
    base = {k: raw.get(k, {}) for k in _SECTIONS}
    tree = _merge(base, raw.get("providers", {}).get(model.provider, {}))
    tree = _merge(tree, raw.get("models", {}).get(model.name, {}))
    where = f"models.{model.name} (after overrides)"
    try:
        return Knobs(
            model=model,
            latency=_build(source, "latency", Latency, tree["latency"]),
            stream=_build(source, "stream", StreamKnobs, tree["stream"]),
            rate_limit=_build(source, "rate_limit", RateLimitKnobs, tree["rate_limit"]),
            faults=_build_faults(source, "faults", tree["faults"]),
        )
    except ProfileError as error:
        if raw.get("models") or raw.get("providers"):
            raise ProfileError(f"{error} [for {where}]") from None
        raise


def _build_phase(source: str, key: str, table: Any, cycle_ticks: int) -> Phase:
    if not isinstance(table, dict):
        raise _fail(source, key, f"must be a table, got {table!r}")
    kinds = phase_kinds()
    params = dict(table)
    kind = params.pop("kind", None)
    if kind not in kinds:
        raise _fail(source, f"{key}.kind", f"unknown phase kind {kind!r}; allowed: {_allowed(kinds)}")
    cls = kinds[kind]
    try:
        phase: Phase = cls(**params)
    except ValidationError as error:
        first = error.errors()[0]
        if first["loc"]:
            where, problem = _validation_problem(error, cls.model_fields)
            raise _fail(source, f"{key}.{where}", f"{problem} (phase kind {kind})") from None
        problem = first["msg"].removeprefix("Value error, ")
        raise _fail(source, key, f"{problem} (phase kind {kind})") from None
    except TypeError as error:
        raise _fail(source, key, str(error)) from None
    end = (phase.start_tick or 0) + phase.length_ticks
    if end > cycle_ticks:
        raise _fail(source, key, f"start_tick + length_ticks is {end}; the phase must fit in "
                                 f"weather.cycle_ticks ({cycle_ticks})")
    return phase


def _build_weather(source: str, table: Any) -> WeatherKnobs:
    if not isinstance(table, dict):
        raise _fail(source, "weather", f"must be a table, got {table!r}")
    for key in table:
        if key not in _WEATHER_KEYS:
            raise _fail(source, f"weather.{key}", f"unknown knob; allowed: {_allowed(_WEATHER_KEYS)}")
    cycle_ticks = table.get("cycle_ticks", DEFAULT_CYCLE_TICKS)
    if isinstance(cycle_ticks, bool) or not isinstance(cycle_ticks, int) or not (
            1 <= cycle_ticks <= MAX_CYCLE_TICKS):
        raise _fail(source, "weather.cycle_ticks",
                    f"must be a whole number from 1 to {MAX_CYCLE_TICKS}, got {cycle_ticks!r}")
    phases = table.get("phases", [])
    if not isinstance(phases, list):
        raise _fail(source, "weather.phases", "must be a list of tables ([[weather.phases]])")
    built = tuple(_build_phase(source, f"weather.phases[{i}]", phase, cycle_ticks)
                  for i, phase in enumerate(phases))
    canonical = json.dumps(table, sort_keys=True, separators=(",", ":"), default=str)
    return WeatherKnobs(cycle_ticks, built, hashlib.sha256(canonical.encode()).hexdigest()[:16])


def _check_shape(source: str, raw: dict[str, Any]) -> None:
    for key in raw:
        if key not in _TOP_LEVEL:
            raise _fail(source, key, f"unknown knob; allowed: {_allowed(_TOP_LEVEL)}")
    for group, names in (("providers", PROVIDERS), ("models", MODELS)):
        overrides = raw.get(group, {})
        if not isinstance(overrides, dict):
            raise _fail(source, group, "must be a table")
        for name, table in overrides.items():
            if name not in names:
                raise _fail(source, f"{group}.{name}", f"unknown name; allowed: {_allowed(names)}")
            if not isinstance(table, dict):
                raise _fail(source, f"{group}.{name}", "must be a table")
            for key in table:
                if key not in _SECTIONS:
                    raise _fail(source, f"{group}.{name}.{key}",
                                f"unknown knob; allowed: {_allowed(_SECTIONS)}")


def build_profile(name: str, source: str, raw: dict[str, Any]) -> Profile:
    """Validate a knob tree into a profile; raises :class:`ProfileError`."""
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: the profile must be a table of knobs")
    _check_shape(source, raw)
    profile = Profile(name=name, source=source, raw=copy.deepcopy(raw),
                      weather=_build_weather(source, raw.get("weather", {})))
    for model in MODELS.values():
        profile._knobs[model.name] = _resolve(source, raw, model)
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    profile.digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return profile


def parse_setting(setting: str) -> tuple[str, Any]:
    """Split ``dotted.key=value``; the value is read as TOML (number, bool, list) or else text."""
    key, sep, text = setting.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ProfileError(f"--set {setting!r}: expected knob=value, e.g. faults.reset.probability=0.1")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    return key, value


def apply_settings(raw: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of the knob tree with dotted-key settings applied."""
    out = copy.deepcopy(raw)
    for key, value in settings.items():
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ProfileError(f"--set {key}: {part!r} is a value, not a table")
            node = child
        node[parts[-1]] = value
    return out


def read_profile_file(name_or_path: str) -> tuple[str, str, dict[str, Any]]:
    """Find a shipped level by name or a TOML file by path; returns (name, source, raw)."""
    path = Path(name_or_path)
    if name_or_path in LEVELS or (not path.suffix and not path.exists()):
        path = PROFILES_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ProfileError(
                f"unknown profile {name_or_path!r}; shipped levels: {', '.join(LEVELS)} "
                "(or give the path of a .toml file)"
            )
    try:
        # Regular files only: a directory, or a device such as /dev/zero named through the admin
        # API, must be refused, not read.
        if not path.is_file():
            raise ProfileError(f"{path}: no such profile file")
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProfileError(f"{path}: cannot read the profile file: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ProfileError(f"{path}: not valid TOML: {error}") from None
    return path.stem, str(path), raw


def load_profile(name_or_path: str, settings: dict[str, Any] | None = None) -> Profile:
    """Load a shipped level or a profile file, apply ``--set`` settings, validate."""
    name, source, raw = read_profile_file(name_or_path)
    if settings:
        raw = apply_settings(raw, settings)
        source = f"{source} (with --set {', '.join(settings)})"
    return build_profile(name, source, raw)
