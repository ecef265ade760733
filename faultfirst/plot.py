"""An SVG line chart of calibration scores against level (no plotting library needed)."""

from __future__ import annotations

from html import escape

from faultfirst.calibrate import Calibration
from faultfirst.solutions import REFERENCE, STARTER

_WIDTH, _HEIGHT = 760, 420
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 230, 30, 50
_FLAWED_COLOURS = ("#8c6bb1", "#e6a23c", "#4aa3a2", "#c0504d", "#7f7f7f", "#b5838d", "#5b8def",
                   "#9bbb59", "#d98c5f", "#6d6875", "#3d9970", "#a05195")


def _style(name: str, index: int) -> tuple[str, float, str]:
    if name == REFERENCE:
        return "#1a7f37", 3.0, ""
    if name == STARTER:
        return "#cf222e", 3.0, ""
    return _FLAWED_COLOURS[index % len(_FLAWED_COLOURS)], 1.5, "5 3"


def score_plot_svg(calibration: Calibration, title: str = "Score by level") -> str:
    """Score (percent) against level, one line per solution, the best level marked."""
    levels = calibration.levels
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    step = plot_w / max(1, len(levels) - 1)

    def x(i: int) -> float:
        return _LEFT + (i * step if len(levels) > 1 else plot_w / 2)

    def y(score: float) -> float:
        return _TOP + plot_h * (1 - score / 100)

    best = levels.index(calibration.best_level()) if REFERENCE in calibration.scores else None
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{_WIDTH}" height="{_HEIGHT}" fill="white"/>',
             f'<text x="{_LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>']
    if best is not None:
        parts.append(f'<rect x="{x(best) - 18:.1f}" y="{_TOP}" width="36" height="{plot_h}" '
                     f'fill="#fff4c2"/><text x="{x(best):.1f}" y="{_TOP + plot_h + 36}" '
                     f'text-anchor="middle" fill="#9a6700">best separation</text>')
    for tick in range(0, 101, 20):
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="#ddd"/><text x="{_LEFT - 8}" y="{y(tick) + 4:.1f}" '
                     f'text-anchor="end">{tick}%</text>')
    for i, level in enumerate(levels):
        parts.append(f'<text x="{x(i):.1f}" y="{_TOP + plot_h + 20}" text-anchor="middle">'
                     f'{escape(level)}</text>')
    flawed_index = 0
    for row, (name, scores) in enumerate(calibration.scores.items()):
        colour, width, dash = _style(name, flawed_index)
        flawed_index += name not in (REFERENCE, STARTER)
        points = " ".join(f"{x(i):.1f},{y(scores[level]):.1f}" for i, level in enumerate(levels))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     f'stroke-width="{width}" stroke-dasharray="{dash}"/>')
        legend_y = _TOP + 14 * row
        parts.append(f'<line x1="{_WIDTH - _RIGHT + 16}" x2="{_WIDTH - _RIGHT + 40}" y1="{legend_y}" '
                     f'y2="{legend_y}" stroke="{colour}" stroke-width="{width}" '
                     f'stroke-dasharray="{dash}"/><text x="{_WIDTH - _RIGHT + 46}" '
                     f'y="{legend_y + 4}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
