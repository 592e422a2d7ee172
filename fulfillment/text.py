"""Small text helpers shared by the admin and the management commands."""


def format_counts(counts: dict[str, int]) -> str:
    """Per-facility counts, biggest first: {"QUEENS": 1, "MANHATTAN": 2} -> "MANHATTAN 2, QUEENS 1"."""
    return ", ".join(f"{code} {n}" for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
