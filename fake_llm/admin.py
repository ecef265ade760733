"""The admin API at ``/_chaos/``: read and replace knobs, script faults, read the ledger, reset,
read the weather and move its clock.

Not subject to chaos. Answers only loopback clients unless the server was started with
``--admin-open``; a server given an admin token (the graders start theirs with one) also wants it
in every admin request's ``x-fake-llm-admin-token`` header, so an app under test that shares the
loopback cannot script or clear faults. Errors are ``{"error": {"message": ...}}`` with status 400
(403 for a refused client, 413 for a body over the size limit), whatever the body holds. Answers
are JSON in ASCII, so a string with a lone surrogate that a client sent in is echoed escaped.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from fake_llm.body import BodyError, ClientGone, parse_json, read_body
from fake_llm.fate import build_rule
from fake_llm.profiles import ProfileError, apply_settings, build_profile, read_profile_file
from fake_llm.state import ChaosState
from fake_llm.weather import CLOCK_MODES

ADMIN_TOKEN_HEADER = "x-fake-llm-admin-token"


class AsciiJSONResponse(JSONResponse):
    """JSON that always encodes: non-ASCII (a lone surrogate included) is escaped."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


def _problem(message: str, status: int = 400) -> JSONResponse:
    return AsciiJSONResponse({"error": {"message": message}}, status_code=status)


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


async def _json_object(request: Request) -> dict[str, Any]:
    """The body's JSON object (``{}`` for no body); BodyError when it is not one."""
    raw = await read_body(request)
    body = parse_json(raw) if raw else {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _profile_view(state: ChaosState) -> dict[str, Any]:
    return {**state.profile.as_dict(), "seed": state.seed,
            "rules": [rule.describe() for rule in state.fates.rules]}


def _replace_profile(state: ChaosState, body: dict[str, Any]) -> None:
    unknown = set(body) - {"profile", "knobs", "set", "seed"}
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}; "
                         "allowed: profile, knobs, set, seed")
    if "profile" in body and "knobs" in body:
        raise ValueError("give 'profile' (a level name) or 'knobs' (a whole knob tree), not both")
    if "knobs" in body:
        name, source, raw = "custom", "PUT /_chaos/profile", body["knobs"]
    elif "profile" in body:
        if not isinstance(body["profile"], str):
            raise ValueError("'profile' must be a level name such as \"stormy\"")
        name, source, raw = read_profile_file(body["profile"])
    else:
        name, source, raw = state.profile.name, state.profile.source, state.profile.raw
    if not isinstance(raw, dict):
        raise ValueError("'knobs' must be an object of knob tables, like a profile file")
    settings = body.get("set") or {}
    if not isinstance(settings, dict):
        raise ValueError("'set' must be an object of dotted knob names to values")
    if settings:
        raw = apply_settings(raw, settings)
    seed = body.get("seed", state.seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError("'seed' must be an integer")
    state.profile = build_profile(name, source, raw)
    state.seed = state.fates.seed = seed
    state.weather.rebuild(state.profile.weather, seed)


_MAX_TICK = 2**53  # beyond this a tick is no longer exact in JSON


def _tick_field(body: dict[str, Any], name: str, least: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= _MAX_TICK:
        raise ValueError(f"'{name}' must be a whole number from {least} to {_MAX_TICK}, got {value!r}")
    return value


def _move_clock(state: ChaosState, body: dict[str, Any]) -> None:
    unknown = set(body) - {"tick", "advance", "mode"}
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}; allowed: tick, advance, mode")
    if "tick" in body and "advance" in body:
        raise ValueError("give 'tick' (where the clock goes) or 'advance' (how far it moves), not both")
    tick, advance = _tick_field(body, "tick", 0), _tick_field(body, "advance", 0)
    mode = body.get("mode")
    if mode is not None and mode not in CLOCK_MODES:
        raise ValueError(f"'mode' must be one of {', '.join(CLOCK_MODES)}, got {mode!r}")
    if tick is None and advance is None and mode is None:
        raise ValueError("give 'tick', 'advance' or 'mode'")
    if advance is not None and state.weather.tick + advance > _MAX_TICK:
        raise ValueError(f"the clock cannot go past tick {_MAX_TICK}")
    state.weather.set_clock(tick=tick, advance=advance, mode=mode)


def _query_tick(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 15):
        raise ValueError(f"{name} must be a tick (a whole number), got {text[:40]!r}")
    return int(text)


def admin_router(state: ChaosState) -> APIRouter:
    """The ``/_chaos`` routes over one server's state."""
    router = APIRouter(prefix="/_chaos")

    def refused(request: Request) -> JSONResponse | None:
        host = request.client.host if request.client else None
        if not (state.admin_open or _is_loopback(host)):
            return _problem("the admin API answers loopback clients only (start with --admin-open)", 403)
        if state.admin_token is not None and not hmac.compare_digest(
                request.headers.get(ADMIN_TOKEN_HEADER, "").encode(), state.admin_token.encode()):
            return _problem(f"this server's admin API wants its admin token in the {ADMIN_TOKEN_HEADER} "
                            "header", 403)
        return None

    @router.get("/profile")
    async def get_profile(request: Request) -> JSONResponse:
        return refused(request) or AsciiJSONResponse(_profile_view(state))

    @router.put("/profile")
    async def put_profile(request: Request) -> JSONResponse:
        if (denied := refused(request)) is not None:
            return denied
        try:
            _replace_profile(state, await _json_object(request))
        except (ValueError, ProfileError) as error:
            return _problem(str(error))
        except BodyError as error:
            return _problem(error.message, error.status)
        except ClientGone:
            return _problem("the client went away before its body arrived")
        return AsciiJSONResponse(_profile_view(state))

    @router.get("/script")
    async def get_script(request: Request) -> JSONResponse:
        return refused(request) or AsciiJSONResponse(
            {"rules": [rule.describe() for rule in state.fates.rules]})

    @router.post("/script")
    async def post_script(request: Request) -> JSONResponse:
        if (denied := refused(request)) is not None:
            return denied
        try:
            body = await _json_object(request)
            specs = body.get("rules")
            if set(body) - {"rules"} or not isinstance(specs, list):
                raise ValueError('expected {"rules": [...]}')
            rules = []
            for index, spec in enumerate(specs):
                if not isinstance(spec, dict):
                    raise ValueError(f"rules[{index}]: must be an object")
                try:
                    rules.append(build_rule(spec))
                except ValueError as error:
                    raise ValueError(f"rules[{index}].{error}") from None
        except ValueError as error:
            return _problem(str(error))
        except BodyError as error:
            return _problem(error.message, error.status)
        except ClientGone:
            return _problem("the client went away before its body arrived")
        state.fates.rules.extend(rules)
        return AsciiJSONResponse({"rules": [rule.describe() for rule in state.fates.rules]})

    @router.delete("/script")
    async def delete_script(request: Request) -> JSONResponse:
        if (denied := refused(request)) is not None:
            return denied
        state.fates.rules.clear()
        return AsciiJSONResponse({"rules": []})

    @router.get("/ledger")
    async def get_ledger(request: Request) -> JSONResponse:
        if (denied := refused(request)) is not None:
            return denied
        since_id = request.query_params.get("since_id", "0")
        if not (since_id.isascii() and since_id.isdigit() and len(since_id) <= 19):  # int64
            return _problem(f"since_id must be a ledger row id (a whole number), got {since_id[:40]!r}")
        return AsciiJSONResponse(state.ledger.snapshot(int(since_id)))

    @router.get("/weather")
    async def get_weather(request: Request) -> JSONResponse:
        if (denied := refused(request)) is not None:
            return denied
        try:
            view = state.weather.view(_query_tick(request, "from_tick"), _query_tick(request, "to_tick"))
        except ValueError as error:
            return _problem(str(error))
        return AsciiJSONResponse(view)

    @router.post("/clock")
    async def post_clock(request: Request) -> JSONResponse:
        if (denied := refused(request)) is not None:
            return denied
        try:
            _move_clock(state, await _json_object(request))
        except ValueError as error:
            return _problem(str(error))
        except BodyError as error:
            return _problem(error.message, error.status)
        except ClientGone:
            return _problem("the client went away before its body arrived")
        return AsciiJSONResponse(state.weather.view())

    @router.post("/reset")
    async def reset(request: Request) -> JSONResponse:
        if (denied := refused(request)) is not None:
            return denied
        state.reset()
        return AsciiJSONResponse({"status": "reset"})

    return router
