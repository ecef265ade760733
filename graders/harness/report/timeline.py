"""An inline SVG timeline of one check's LLM calls, drawn from the fake LLM's ledger rows.

x is the server's clock (seconds since the check's first call); each lane holds the attempts of
one logical request (one fingerprint: same provider, model and content), so retries line up and
the waits between them show as dotted gaps labelled in milliseconds. One bar per attempt, from
arrival to finish, coloured by what happened, labelled with its attempt number; the tooltip has
the whole row. Parallel attempts of the same request get extra lanes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

LABEL_W, PLOT_W, RIGHT_PAD = 190, 640, 20
TOP, LANE_H, BAR_H, AXIS_H, LEGEND_ROW_H = 10, 18, 12, 24, 16
LEGEND_H = 2 * LEGEND_ROW_H + 6
MAX_LANES = 36
CONTENT_FAULTS = frozenset({"json_fences", "json_trailing_comma", "json_single_quotes",
                            "json_prose_wrap", "json_truncated", "schema_drift", "bad_citation",
                            "refusal", "empty_content"})
TRANSPORT_FAULTS = frozenset({"reset", "disconnect", "empty_body", "wrong_content_type", "hang",
                              "truncate", "corrupt_chunk", "error_event", "stall"})
CATEGORIES = {  # name -> (colour, legend text)
    "ok": ("#2f9e5b", "answered"),
    "slow": ("#3f83c9", "answered, slowed"),
    "content": ("#d9a520", "content fault"),
    "rate": ("#e07b2a", "429 rate limit"),
    "server": ("#d04848", "5xx"),
    "client": ("#8c6a3f", "other 4xx"),
    "transport": ("#7d5bc0", "transport/stream fault"),
    "gone": ("#a7b1c2", "abandoned by the app"),
    "open": ("#5f6b7a", "no finish"),
}


def category(row: dict[str, Any]) -> str:
    """Which colour a ledger row gets (a key of CATEGORIES)."""
    fault, status = row.get("fault") or "none", row.get("status")
    if row.get("finish_s") is None:
        return "open"
    if row.get("client_gone"):
        return "gone"
    if fault in TRANSPORT_FAULTS or status is None:
        return "transport"
    if status == 429:
        return "rate"
    if status >= 500:
        return "server"
    if status >= 400:
        return "client"
    if fault in CONTENT_FAULTS:
        return "content"
    return "ok" if fault == "none" else "slow"


@dataclass(frozen=True, slots=True)
class Bar:
    row: dict[str, Any]
    lane: int
    start_s: float
    end_s: float


def lay_out(rows: Sequence[dict[str, Any]], now_s: float | None = None,
            ) -> tuple[list[Bar], list[str], float, float]:
    """Bars with lanes, each lane's label, and the time range (t0, t1) on the server clock.

    A call with no finish runs to ``now_s`` (when the ledger was read), if known.
    """
    rows = sorted(rows, key=lambda r: (r["arrival_s"], r["id"]))
    t0 = rows[0]["arrival_s"]
    t1 = max(max(r.get("finish_s") or r["arrival_s"] for r in rows), t0 + 0.05)
    if now_s is not None and any(r.get("finish_s") is None for r in rows):
        t1 = max(t1, now_s)
    groups: dict[str, list[int]] = {}  # fingerprint -> its lanes
    lane_ends: list[float] = []
    labels: list[str] = []
    bars = []
    for row in rows:
        finish = row.get("finish_s")
        end = float(finish) if finish is not None else t1
        lanes = groups.setdefault(str(row.get("fingerprint")), [])
        lane = next((n for n in lanes if lane_ends[n] <= row["arrival_s"] + 1e-9), None)
        if lane is None:
            lane = len(lane_ends)
            lane_ends.append(end)
            labels.append(_lane_label(row) if not lanes else "")
            lanes.append(lane)
        lane_ends[lane] = end
        bars.append(Bar(row, lane, row["arrival_s"] - t0, end - t0))
    return bars, labels, t0, t1


def _lane_label(row: dict[str, Any]) -> str:
    papers = row.get("paper_ids") or []
    paper = papers[0] + (f"+{len(papers) - 1}" if len(papers) > 1 else "") if papers else ""
    stream = " stream" if row.get("stream") else ""
    return f"{row.get('provider', '?')} · {row.get('task', '?')}{stream} {paper}".strip()


def _tick_step(span_s: float) -> float:
    raw = span_s / 7
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))


def _tooltip(row: dict[str, Any], t0: float) -> str:
    finish = row.get("finish_s")
    end = f"{finish - t0:.3f} s" if finish is not None else "no finish"
    parts = [f"{row.get('provider')} {row.get('model')}", f"attempt {row.get('attempt')}",
             f"fault {row.get('fault')}", f"status {row.get('status')}",
             f"{row['arrival_s'] - t0:.3f} s → {end}", f"in flight {row.get('in_flight')}"]
    if row.get("retry_count") is not None:
        parts.append(f"SDK retry count {row['retry_count']}")
    if row.get("client_gone"):
        parts.append("client went away")
    return " · ".join(parts)


def _axis(t1_rel: float, height: int) -> list[str]:
    step, out = _tick_step(t1_rel), []
    n = 0
    while n * step <= t1_rel + 1e-9:
        x = LABEL_W + n * step / t1_rel * PLOT_W
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{height}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{height + 14}">{n * step:g} s</text>')
        n += 1
    return out


def _bar_svg(bar: Bar, x_of: Any, t0: float) -> list[str]:
    y = TOP + bar.lane * LANE_H + (LANE_H - BAR_H) / 2
    x1, x2 = x_of(bar.start_s), x_of(bar.end_s)
    width = max(x2 - x1, 2.0)
    kind = category(bar.row)
    gone = " gone" if bar.row.get("client_gone") else ""
    out = [f'<g class="bar {kind}{gone}"><title>{escape(_tooltip(bar.row, t0))}</title>',
           f'<rect x="{x1:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_H}" rx="2" '
           f'fill="{CATEGORIES[kind][0]}"/>']
    if width >= 18:
        out.append(f'<text class="n" x="{x1 + 3:.1f}" y="{y + BAR_H - 2.5:.1f}">#{bar.row.get("attempt")}'
                   "</text>")
    out.append("</g>")
    return out


def _waits(bars: list[Bar], x_of: Any) -> list[str]:
    out: list[str] = []
    last: dict[int, Bar] = {}
    for bar in sorted(bars, key=lambda b: b.start_s):
        previous = last.get(bar.lane)
        last[bar.lane] = bar
        if previous is None or bar.start_s <= previous.end_s:
            continue
        y = TOP + bar.lane * LANE_H + LANE_H / 2
        x1, x2 = x_of(previous.end_s), x_of(bar.start_s)
        out.append(f'<line class="wait" x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}"/>')
        if x2 - x1 >= 34:
            gap_ms = (bar.start_s - previous.end_s) * 1000
            out.append(f'<text class="waitlabel" x="{(x1 + x2) / 2:.1f}" y="{y - 2:.1f}">'
                       f"{gap_ms:.0f} ms</text>")
    return out


def _legend(y: int, width: int) -> list[str]:
    """Swatches with their meaning, wrapped onto a second row when they do not fit."""
    out, x = [], 10
    for colour, text in CATEGORIES.values():
        advance = 24 + round(6.2 * len(text))
        if x + advance > width:
            x, y = 10, y + LEGEND_ROW_H
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" rx="2" fill="{colour}"/>')
        out.append(f'<text class="legend" x="{x + 14}" y="{y + 9}">{escape(text)}</text>')
        x += advance
    return out


def timeline_svg(rows: Sequence[dict[str, Any]], dropped: int = 0, now_s: float | None = None) -> str:
    """The SVG markup (a string, safe to inline) for ``rows``; '' when there are none.

    ``now_s`` is the server's clock when the rows were read: calls still open end there.
    """
    rows = [r for r in rows if r.get("arrival_s") is not None]
    if not rows:
        return ""
    bars, labels, t0, t1 = lay_out(rows, now_s)
    hidden = [b for b in bars if b.lane >= MAX_LANES]
    bars = [b for b in bars if b.lane < MAX_LANES]
    lanes = min(len(labels), MAX_LANES)
    span = t1 - t0
    plot_bottom = TOP + lanes * LANE_H
    height = plot_bottom + AXIS_H + LEGEND_H
    width = LABEL_W + PLOT_W + RIGHT_PAD

    def x_of(t_rel: float) -> float:
        return LABEL_W + t_rel / span * PLOT_W

    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="LLM calls over time">']
    parts += _axis(span, plot_bottom)
    for lane, label in enumerate(labels[:lanes]):
        y = TOP + lane * LANE_H
        if lane % 2 == 0:
            parts.append(f'<rect class="lane" x="0" y="{y}" width="{width}" height="{LANE_H}"/>')
        parts.append(f'<text class="lanelabel" x="{LABEL_W - 8}" y="{y + LANE_H - 5}">'
                     f"{escape(label[:32])}</text>")
    parts += _waits(bars, x_of)
    for bar in bars:
        parts += _bar_svg(bar, x_of, t0)
    parts += _legend(plot_bottom + AXIS_H, width)
    parts.append("</svg>")
    more = len(hidden) + dropped
    if more:
        parts.append(f'<p class="more">{more} more calls not drawn.</p>')
    return "\n".join(parts)
