"""``python -m fake_llm serve``: run the fake LLM server in the foreground."""

from __future__ import annotations

import argparse
import errno
import gc
import os
import socket
import sys
from pathlib import Path
from typing import Any

from fake_llm.profiles import LEVELS, ProfileError, parse_setting
from fake_llm.weather import Segment, Weather

DEFAULT_PORT = 8900
_DEFAULT_PROFILE_FILE = Path(__file__).parent / "profiles" / "DEFAULT"


def default_profile() -> str:
    """The level used when --profile is not given: $FAKE_LLM_PROFILE, the DEFAULT file, or calm."""
    if env := os.environ.get("FAKE_LLM_PROFILE"):
        return env
    if _DEFAULT_PROFILE_FILE.exists():
        return _DEFAULT_PROFILE_FILE.read_text(encoding="utf-8").strip() or "calm"
    return "calm"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The serve options shared by ``python -m fake_llm serve`` and ``faultfirst serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--profile", default=None,
                        help=f"a level ({', '.join(LEVELS)}) or a profile .toml path "
                             f"(default: {default_profile()})")
    parser.add_argument("--seed", type=int, default=0, help="chaos seed (default 0)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KNOB=VALUE",
                        help="override a knob, e.g. --set faults.reset.probability=0.2 (repeatable)")
    parser.add_argument("--ledger-size", type=int, default=10_000, help="ledger rows kept (default 10000)")
    parser.add_argument("--admin-open", action="store_true",
                        help="let non-loopback clients use the /_chaos admin API")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])


class ListenError(OSError):
    """The server cannot listen where asked; the message names the address and the reason."""


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, bound before anything is announced, so a bad port or
    one in use is one clear error rather than a banner followed by a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(4096)
    except OSError as error:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {error.strerror or error}"
                          + (" (choose another --port)" if error.errno == errno.EADDRINUSE else "")) from None
    return sock


def phase_line(tick: int, segment: Segment) -> str:
    """The console line for a change of weather, e.g. ``phase: openai outage (503) [ticks 40-59]``."""
    return f"phase: {segment.label} [ticks {tick}-{segment.end_tick - 1}]"


def weather_banner(weather: Weather) -> str:
    """What the console says of the weather at start: the clock's rule and the first cycle."""
    knobs = weather.schedule.knobs
    if not knobs.phases:
        return "  weather:            clear (no phases)"
    lines = [f"  weather:            a {knobs.cycle_ticks}-tick cycle, one tick per model request "
             "(GET /_chaos/weather); this cycle:"]
    for segment in weather.schedule.segments(0, knobs.cycle_ticks):
        lines.append(f"    ticks {segment.start_tick}-{segment.end_tick - 1}: {segment.label}")
    return "\n".join(lines)


def _print_phase(tick: int, segment: Segment) -> None:
    print(phase_line(tick, segment), flush=True)


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns an exit status (2 for a refused profile, knob or port
    number, 1 when the address cannot be listened on)."""
    import uvicorn

    from fake_llm.runner import make_state, uvicorn_config

    try:
        settings: dict[str, Any] = dict(parse_setting(s) for s in args.settings)
        profile = args.profile or default_profile()
        state = make_state(profile, args.seed, settings, args.ledger_size, args.admin_open)
    except ProfileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.ledger_size < 1:
        print("error: --ledger-size must be at least 1", file=sys.stderr)
        return 2
    if not 1 <= args.port <= 65535:
        print(f"error: --port {args.port} is out of range: choose a port from 1 to 65535", file=sys.stderr)
        return 2
    try:
        sock = listen(args.host, args.port)
    except ListenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    base = f"http://{args.host}:{args.port}"
    print(f"fake LLM on {base}  (profile {state.profile.name}, seed {state.seed})\n"
          f"  OpenAI base URL:    {base}/v1\n"
          f"  Anthropic base URL: {base}/anthropic\n"
          f"  admin API:          {base}/_chaos/  (profile, script, ledger, reset, weather, clock)\n"
          + weather_banner(state.weather), flush=True)
    state.weather.on_change = _print_phase
    server = uvicorn.Server(uvicorn_config(state, args.host, args.port, args.log_level))
    # Startup objects (FastAPI, pydantic, the corpus) live as long as the server: keep the cyclic
    # collector from walking them again on every full collection.
    gc.freeze()
    # A request leaves a few hundred short-lived containers behind: collecting the young
    # generation every 10,000 allocations rather than every 700 saves a tenth of the server's CPU
    # (bench/fake_llm_bench (a): 181 -> 164 us a request), for at most a few MB more garbage.
    gc.set_threshold(10_000, 10, 10)
    server.run(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fake_llm",
                                     description="A deliberately flaky fake LLM server.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(commands.add_parser("serve", help="run the server"))
    args = parser.parse_args(argv)
    return run_serve(args)
