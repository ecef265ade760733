"""A heat map of calibration scores, solution × level, as SVG (no plotting library needed).

One row per solution (the ones of known order first: reference, profiles, starter; then the
single-flaw solutions), one column per level, the percent written in each cell and its colour
running from red (0 %) through amber to green (100 %). The recommended level's column is framed;
Kendall's tau and the spread of each level sit under its column.
"""

from __future__ import annotations

from html import escape
from itertools import pairwise

from faultfirst.calibrate import Calibration

_CELL_W, _CELL_H = 92, 22
_LABEL_W = 380
_TOP = 90
_FOOT = 64
_LABEL_CHARS = 46  # of bold 12 px text in the label column


_STOPS = ((0.0, (215, 48, 39)), (60.0, (244, 109, 67)), (85.0, (254, 224, 139)),
          (97.0, (166, 217, 106)), (100.0, (26, 152, 80)))


def colour(percent: float) -> str:
    """Red at 0 %, orange at 60 %, yellow at 85 %, light green at 97 %, dark green at 100 %: most
    scores sit high, so the scale spends its range there, and full marks stand out."""
    stops = _STOPS
    p = max(0.0, min(100.0, percent))
    for (x0, c0), (x1, c1) in pairwise(stops):
        if p <= x1:
            t = (p - x0) / (x1 - x0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1, strict=True))
    return "#1a9850"


def _text_colour(percent: float) -> str:
    return "white" if percent < 35 or percent >= 99.5 else "#222"


def _exercises_text(exercises: tuple[str, ...]) -> str:
    text = "exercises: " + ", ".join(exercises)
    return text if len(text) <= 70 else f"{len(exercises)} exercises"


def heatmap_svg(calibration: Calibration, title: str = "Score by solution and level") -> str:
    """The heat map (see the module's docstring)."""
    levels = calibration.levels
    rows = calibration.ranked + [n for n in calibration.scores if n not in calibration.ranked]
    width = _LABEL_W + _CELL_W * len(levels) + 20
    height = _TOP + _CELL_H * len(rows) + _FOOT
    best, tied = calibration.recommend() if rows else (None, ())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
             f'<text x="10" y="40" fill="#555">{escape(_exercises_text(calibration.exercises))}'
             f' · seed {calibration.seed}</text>',
             f'<text x="10" y="56" fill="#555">framed: the recommended level'
             f'{" (tied: " + escape(", ".join(tied)) + ")" if len(tied) > 1 else ""}</text>']
    for column, level in enumerate(levels):
        x = _LABEL_W + column * _CELL_W
        parts.append(f'<text x="{x + _CELL_W / 2}" y="{_TOP - 10}" text-anchor="middle" '
                     f'font-weight="bold">{escape(level)}</text>')
    previous_kind = None
    for row, name in enumerate(rows):
        y = _TOP + row * _CELL_H
        member = calibration.member(name)
        if previous_kind is not None and (member.kind == "flawed") != (previous_kind == "flawed"):
            parts.append(f'<line x1="10" x2="{width - 10}" y1="{y}" y2="{y}" stroke="#333" '
                         'stroke-width="2"/>')
        previous_kind = member.kind
        weight = "bold" if member.kind != "flawed" else "normal"
        label = name if member.kind != "profile" else f"{name}: {', '.join(member.flaws)}"
        if len(label) > _LABEL_CHARS:
            label = label[:_LABEL_CHARS - 1] + "…"
        parts.append(f'<text x="{_LABEL_W - 8}" y="{y + 15}" text-anchor="end" '
                     f'font-weight="{weight}">{escape(label)}</text>')
        for column, level in enumerate(levels):
            x = _LABEL_W + column * _CELL_W
            score = calibration.scores[name][level]
            parts.append(f'<rect x="{x}" y="{y}" width="{_CELL_W}" height="{_CELL_H}" '
                         f'fill="{colour(score)}" stroke="white"/>'
                         f'<text x="{x + _CELL_W / 2}" y="{y + 15}" text-anchor="middle" '
                         f'fill="{_text_colour(score)}">{score:.1f}%</text>')
    bottom = _TOP + _CELL_H * len(rows)
    if best is not None:
        x = _LABEL_W + levels.index(best) * _CELL_W
        parts.append(f'<rect x="{x + 1}" y="{_TOP - 26}" width="{_CELL_W - 2}" '
                     f'height="{bottom - _TOP + 26 + 40}" fill="none" stroke="#111" stroke-width="3"/>')
    for column, level in enumerate(levels):
        figures = calibration.figures(level)
        middle = _LABEL_W + column * _CELL_W + _CELL_W / 2
        tau = figures["kendall_tau"]
        parts.append(f'<text x="{middle}" y="{bottom + 16}" text-anchor="middle">'
                     f'tau {"–" if tau is None else f"{tau:.2f}"}</text>'
                     f'<text x="{middle}" y="{bottom + 32}" text-anchor="middle">'
                     f'spread {figures["spread"]:.0f}</text>')
    parts.append(f'<text x="{_LABEL_W - 8}" y="{bottom + 16}" text-anchor="end" fill="#555">'
                 'Kendall tau vs known order</text>'
                 f'<text x="{_LABEL_W - 8}" y="{bottom + 32}" text-anchor="end" fill="#555">'
                 'spread: reference − lowest profile</text>')
    parts.append("</svg>")
    return "\n".join(parts)


