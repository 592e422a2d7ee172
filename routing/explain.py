"""Why here: the one place where a routing decision's stored facts become sentences.

A decision stores facts, not sentences (`RoutingDecision.candidates`): per listed candidate its facility, distance,
routable ATP and a reason code with the numbers the reason needs; per group of counted candidates the reason code,
how many, their distance range and the most routable ATP among them. `candidate_rows` turns them into the rows the
order page, the parked page and the admin show, when they are shown. Decisions stored before facts (rows that carry a
`reason` sentence already) are shown as they were.
"""

from collections.abc import Mapping
from datetime import date

# Reason codes: why a candidate was or was not chosen (the engine and the candidate query use the same codes).
CHOSEN = "CHOSEN"
JUST_REJECTED = "JUST_REJECTED"
NOT_PICKUP_STORE = "NOT_PICKUP_STORE"
REJECTED_BEFORE = "REJECTED_BEFORE"
INACTIVE = "INACTIVE"
NOT_ROUTING = "NOT_ROUTING"
WRONG_KIND = "WRONG_KIND"
NOT_IN_GROUP = "NOT_IN_GROUP"
TOO_FAR = "TOO_FAR"
OVER_DAILY_LIMIT = "OVER_DAILY_LIMIT"
BUSY = "BUSY"
NO_ATP = "NO_ATP"
TOO_FEW = "TOO_FEW"
ELIGIBLE = "ELIGIBLE"  # eligible under the rule; what it lost to is known only once the winner is (see lost_code)
NOT_NEEDED = "NOT_NEEDED"
LOST_WHOLE_LINE = "LOST_WHOLE_LINE"
LOST_BALANCE = "LOST_BALANCE"
LOST_PRIORITY = "LOST_PRIORITY"
LOST_DISTANCE = "LOST_DISTANCE"
LOST_TIE = "LOST_TIE"
NOT_PLACED = "NOT_PLACED"
TAKEN_MEANWHILE = "TAKEN_MEANWHILE"
NO_STOCK_RECORD = "NO_STOCK_RECORD"

KIND_LABELS = {"STORE": "store", "WAREHOUSE": "warehouse"}


def day_month(day: date) -> str:
    """'27 Nov' (portable: no platform-specific strftime flags)."""
    return f"{day.day} {day:%b}"


def km_beyond(distance: float, limit: int) -> str:
    """The distance as shown next to a limit it exceeds: whole km, with decimals only when rounding would hide the excess
    (50.3 km over a 50 km limit reads "50.3 km > 50 km", never "50 km > 50 km")."""
    for decimals in (0, 1, 2):
        shown = f"{distance:.{decimals}f}"
        if float(shown) > limit:
            return shown
    return f"{distance:.3f}"


def reason_text(code: str, n: Mapping) -> str:
    """The sentence for one listed candidate's reason."""
    match code:
        case "CHOSEN":
            return f"chosen: {n['quantity']} unit(s)"
        case "JUST_REJECTED":
            return "rejected this item just now"
        case "NOT_PICKUP_STORE":
            return "not the customer's pickup store"
        case "REJECTED_BEFORE":
            return f"rejected this item on {day_month(date.fromisoformat(n['day']))}"
        case "INACTIVE":
            return "facility inactive"
        case "NOT_ROUTING":
            return "not accepting routed orders"
        case "WRONG_KIND":
            kind, wanted = KIND_LABELS.get(n["kind"], n["kind"]), KIND_LABELS.get(n["wanted"], n["wanted"])
            return f"{kind}; rule takes {wanted}s only"
        case "NOT_IN_GROUP":
            return f"not in group {n['group']}"
        case "TOO_FAR":
            return f"{km_beyond(n['km'], n['limit'])} km > {n['limit']} km"
        case "OVER_DAILY_LIMIT":
            return f"over daily limit ({n['load']}/{n['limit']} lines today)"
        case "BUSY":
            return "busy: another order was taking its units at that moment"
        case "NO_ATP":
            if n.get("held_back") and n.get("atp"):
                return f"ATP {n['atp']}, all held as safety stock ({n['held_back']})"
            return f"ATP {n.get('atp', 0)}"
        case "TOO_FEW":
            return f"routable ATP {n['routable']} < {n['needed']} needed"
        case "NOT_NEEDED":
            return f"not needed: {', '.join(n['covered'])} covered the line"
        case "LOST_WHOLE_LINE":
            return f"routable ATP {n['routable']} < {n['needed']} needed; {n['winner']} has the whole line"
        case "LOST_BALANCE":
            return f"less routable ATP than {n['winner']} ({n['routable']} vs {n['winner_routable']})"
        case "LOST_PRIORITY":
            return f"lower priority than {n['winner']} ({n['priority']} vs {n['winner_priority']})"
        case "LOST_DISTANCE":
            return f"farther than {n['winner']} ({n['km']:.1f} km vs {n['winner_km']:.1f} km)"
        case "LOST_TIE":
            return f"tie broken in favour of {n['winner']} (priority, then code)"
        case "NOT_PLACED":
            return "eligible, but no rule placed the whole line"
        case "TAKEN_MEANWHILE":
            return "chosen, but its stock was taken by another order meanwhile"
        case "NO_STOCK_RECORD":
            return "no stock record of this product"
    return code.replace("_", " ").lower()  # a code this version does not know: shown, never an error


def group_text(code: str, n: Mapping) -> str:
    """The reason a group of counted candidates shares, without the numbers that differ between them."""
    match code:
        case "NO_ATP":
            return "no routable ATP"
        case "TOO_FAR":
            return f"beyond {n['limit']} km"
        case "TOO_FEW":
            return f"routable ATP below the {n['needed']} needed"
        case "OVER_DAILY_LIMIT":
            return "over their daily limit"
        case "REJECTED_BEFORE":
            return "rejected this item before"
        case "LOST_DISTANCE":
            return f"farther than {n['winner']}"
        case "LOST_BALANCE":
            return f"less routable ATP than {n['winner']}"
        case "LOST_PRIORITY":
            return f"lower priority than {n['winner']}"
        case "LOST_WHOLE_LINE":
            return f"less than the whole line; {n['winner']} has it"
        case "LOST_TIE":
            return f"ties broken in favour of {n['winner']}"
    return reason_text(code, n)


def candidate_rows(candidates) -> list[dict]:
    """The Why-here table's rows: facility, name, distance (km), routable ATP, chosen, reason, rule."""
    rows = []
    for c in candidates or []:
        if not isinstance(c, Mapping):
            continue  # an odd stored value never breaks a page
        if "reason" in c:  # stored before decisions kept facts: already a sentence
            rows.append(c)
            continue
        try:
            rows.append(_row(c))
        except (KeyError, TypeError, ValueError):
            rows.append({"facility": c.get("facility", ""), "name": c.get("name", ""), "distance_km": None,
                         "routable_atp": c.get("routable_atp"), "chosen": bool(c.get("chosen")),
                         "reason": str(c.get("code") or c.get("group") or ""), "rule": c.get("rule", "")})
    return rows


def _row(c: Mapping) -> dict:
    n = c.get("n") or {}
    if "group" in c:
        count = c["count"]
        if c["group"] == NO_STOCK_RECORD:
            name = f"{count} other facilit{'y' if count == 1 else 'ies'}"
        else:
            name = f"{count} more facilit{'y' if count == 1 else 'ies'} ({c['min_km']:,.0f}-{c['max_km']:,.0f} km)"
        return {"facility": "", "name": name, "distance_km": c.get("min_km"), "routable_atp": c.get("routable_atp", 0),
                "chosen": False, "reason": group_text(c["group"], n), "rule": c.get("rule", "")}
    return {"facility": c["facility"], "name": c["name"], "distance_km": c["distance_km"],
            "routable_atp": c["routable_atp"], "chosen": c["code"] == CHOSEN, "reason": reason_text(c["code"], n),
            "rule": c.get("rule", "")}
