"""The trend chart as SVG geometry computed on the server (no script, no inline style: CSS classes from app.css).

Bars: units rejected per day or week (left scale). Line: the rejection rate (right scale). On request one line per
reason (units, left scale). The template draws it with a text table beside it for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 48, 12, 28
REASON_SERIES = 6  # app.css has .chart-series-0 .. -5


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000):
        if value <= step * 4:
            return step * 4
    return value


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[dict] = field(default_factory=list)
    rate_points: str = ""
    reason_lines: list[dict] = field(default_factory=list)
    left_ticks: list[dict] = field(default_factory=list)
    right_ticks: list[dict] = field(default_factory=list)
    x_labels: list[dict] = field(default_factory=list)
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM
    plot_top: int = TOP


def trend_chart(points, *, reasons: dict[int, str] | None = None) -> Chart:
    """``points``: TrendPoints (units, rate, by_reason, start). ``reasons``: {reason id: label} for one line each."""
    chart = Chart()
    if not points:
        return chart
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    units_max = _nice_max(max(p.units for p in points))
    rate_max = max((p.rate or 0) for p in points)
    rate_top = max(0.05, min(1.0, (int(rate_max * 20) + 1) / 20))  # next 5 % step
    slot = plot_w / len(points)

    def y_units(v): return round(TOP + plot_h - v / units_max * plot_h, 1)
    def y_rate(v): return round(TOP + plot_h - v / rate_top * plot_h, 1)
    def x_mid(i): return round(LEFT + slot * (i + 0.5), 1)

    for i, p in enumerate(points):
        top = y_units(p.units)
        chart.bars.append({
            "x": round(LEFT + slot * i + slot * 0.15, 1), "y": top, "w": round(max(slot * 0.7, 1), 1),
            "h": round(TOP + plot_h - top, 1), "point": p,
        })
    chart.rate_points = " ".join(f"{x_mid(i)},{y_rate(p.rate or 0)}" for i, p in enumerate(points))
    for n, (reason_id, label) in enumerate((reasons or {}).items()):
        chart.reason_lines.append({
            "label": label, "css": f"chart-series-{n % REASON_SERIES}",
            "points": " ".join(f"{x_mid(i)},{y_units(p.by_reason.get(reason_id, 0))}" for i, p in enumerate(points)),
        })
    for k in range(5):
        chart.left_ticks.append({"y": y_units(units_max * k / 4), "label": f"{units_max * k / 4:g}"})
        chart.right_ticks.append({"y": y_rate(rate_top * k / 4), "label": f"{rate_top * k / 4 * 100:.3g}%"})
    every = max(1, len(points) // 6)
    for i, p in enumerate(points):
        if i % every == 0:
            chart.x_labels.append({"x": x_mid(i), "label": p.start.strftime("%-d %b")})
    return chart
