"""Formatting of report figures: shares as percentages, durations in words."""

from django import template

register = template.Library()


@register.filter
def percent(value, digits=1):
    """0.0423 -> "4.2%"; None (no denominator) -> "—"."""
    if value is None:
        return "—"
    return f"{value * 100:.{int(digits)}f}%"


@register.filter
def duration(seconds):
    """Seconds -> "3 h 20 min" / "45 min" / "2 d 4 h"; None -> "—"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return "under 1 min"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def minutes_words(minutes):
    return "—" if minutes is None else duration(minutes * 60)
