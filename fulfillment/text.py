"""The words the admin, the commands and the pages use for what a service did: one formatter per summary."""


def format_counts(counts: dict[str, int]) -> str:
    """Per-facility counts, biggest first: {"QUEENS": 1, "MANHATTAN": 2} -> "MANHATTAN 2, QUEENS 1"."""
    return ", ".join(f"{code} {n}" for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def route_summary_text(summary, *, scope: str = "") -> str:
    """What routing parked items did (a RouteSummary):
    'Routed 3 of 4 parked item(s) (MANHATTAN 2, QUEENS 1); still parked: 1.'"""
    considered = summary.routed + summary.parked
    counts = f" ({format_counts(summary.rerouted)})" if summary.rerouted else ""
    return f"Routed {summary.routed} of {considered} parked item(s){scope}{counts}; still parked: {summary.parked}."


def items_reject_summary_text(summary, *, reason_label: str) -> str:
    """What rejecting selected items did (an ItemsRejectSummary), e.g.
    'Rejected 2 item(s) as “Damaged” and 1 more by the facility's rejection policy. Re-routed: 2 (QUEENS 2); parked: 1.'"""
    message = f"Rejected {summary.rejected} item(s) as “{reason_label}”"
    if summary.collateral:
        message += f" and {summary.collateral} more by the facility's rejection policy"
    counts = f" ({format_counts(summary.rerouted)})" if summary.rerouted else ""
    return f"{message}. Re-routed: {sum(summary.rerouted.values())}{counts}; parked: {summary.parked}."
