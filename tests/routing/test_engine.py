"""The routing engine on its own: plain facilities, rules and levels in memory, no database.

Every filter, eligibility check, sort, allocation and fallback of the rules, each asserted through what the engine
decides and through the explanation it writes for every candidate (content, not presence).
"""

import random
from datetime import date

import pytest

from inventory.models import Facility, FacilityGroup, InventoryLevel
from inventory.services import InventoryBook
from routing.engine import LISTED_WITHOUT_STOCK_RECORD, Demand, Router, day_month, distance_km, km_beyond
from routing.explain import candidate_rows
from routing.models import RoutingDecision, RoutingRule

# The ship-to address is in Brooklyn. Distances from it (great circle): Manhattan 9.2 km, Newark 20.3 km,
# Edison 43.3 km, Stamford 53.9 km, Philadelphia 131.2 km, Boston 304.4 km.
SHIP_TO = (40.6782, -73.9442)
PLACES = {
    "BROOKLYN": (40.6782, -73.9442),
    "MANHATTAN": (40.7549, -73.9840),
    "NEWARK": (40.7357, -74.1724),
    "EDISON": (40.5187, -74.4121),
    "STAMFORD": (41.0534, -73.5387),
    "PHILLY": (39.9526, -75.1652),
    "BOSTON": (42.3601, -71.0589),
}
PRODUCT = 1
NOV_27 = date(2026, 11, 27)


def facility(code, *, pk=None, kind=Facility.Kind.STORE, at=None, **fields) -> Facility:
    lat, lon = at or PLACES[code]
    pk = pk or (list(PLACES).index(code) + 1 if code in PLACES else abs(hash(code)) % 10_000 + 100)
    return Facility(pk=pk, code=code, name=code.title(), kind=kind, latitude=lat, longitude=lon, **fields)


def level(fac: Facility, atp: int, *, qoh: int | None = None, safety_stock: int | None = None, product=PRODUCT):
    return InventoryLevel(
        pk=fac.pk * 1000 + product, facility_id=fac.pk, product_id=product,
        quantity_on_hand=atp if qoh is None else qoh, available_to_promise=atp, safety_stock=safety_stock,
    )


def rule(name="Nearest with the whole line", **fields) -> RoutingRule:
    fields.setdefault("sequence", 10)
    fields.setdefault("shipping_methods", [])
    return RoutingRule(name=name, is_active=fields.pop("is_active", True), **fields)


def make_router(facilities, levels, rules=None, *, groups=None, loads=None) -> Router:
    return Router(
        facilities=list(facilities),
        rules=list(rules if rules is not None else [rule()]),
        group_members=groups or {},
        stock=InventoryBook(levels={(lvl.facility_id, lvl.product_id): lvl for lvl in levels}),
        daily_loads=loads or {},
    )


def demand(quantity=1, method="STANDARD", *, at=SHIP_TO, key=1, **fields) -> Demand:
    return Demand(key=key, product_id=PRODUCT, quantity=quantity, shipping_method=method,
                  latitude=at[0], longitude=at[1], **fields)


def rows(plan) -> list[dict]:
    return candidate_rows(plan.candidates)


def why(plan) -> dict[str, str]:
    return {c["facility"]: c["reason"] for c in rows(plan)}


def candidate(plan, code) -> dict:
    return next(c for c in rows(plan) if c["facility"] == code)


def atp(router, fac) -> int:
    return router.stock.level(fac.pk, PRODUCT).available_to_promise


# -- helpers of the explanations --------------------------------------------------------------------------------------
def test_day_month_reads_like_a_person_writes_it():
    assert day_month(NOV_27) == "27 Nov"
    assert day_month(date(2026, 3, 5)) == "5 Mar"


@pytest.mark.parametrize(
    "distance, limit, shown",
    [(412.4, 50, "412"), (53.88, 50, "54"), (50.3, 50, "50.3"), (50.04, 50, "50.04"), (49.6, 49, "50")],
)
def test_km_beyond_never_shows_a_distance_that_looks_within_the_limit(distance, limit, shown):
    assert km_beyond(distance, limit) == shown
    assert float(shown) > limit


def test_distance_is_great_circle():
    assert distance_km(*SHIP_TO, *PLACES["MANHATTAN"]) == pytest.approx(9.16, abs=0.01)
    assert distance_km(*SHIP_TO, *PLACES["BOSTON"]) == pytest.approx(304.4, abs=0.1)
    assert distance_km(*SHIP_TO, *SHIP_TO) == 0


# -- filters ------------------------------------------------------------------------------------------------------------
def test_shipping_methods_pick_which_rules_apply():
    manhattan, stamford = facility("MANHATTAN"), facility("STAMFORD")
    rules = [
        rule("Same day within 50 km", sequence=10, shipping_methods=["SAME_DAY"], max_distance_km=50),
        rule("Anything else", sequence=20, shipping_methods=["STANDARD"], sort=RoutingRule.Sort.PRIORITY),
    ]
    stamford.priority = 1
    router = make_router([manhattan, stamford], [level(manhattan, 5), level(stamford, 5)], rules)

    standard = router.route(demand(method="STANDARD"))
    assert standard.rule.name == "Anything else" and standard.facility_id == stamford.pk

    same_day = router.route(demand(method="SAME_DAY"))
    assert same_day.rule.name == "Same day within 50 km" and same_day.facility_id == manhattan.pk


def test_no_rule_for_the_shipping_method_parks_with_that_reason():
    manhattan = facility("MANHATTAN")
    router = make_router([manhattan], [level(manhattan, 5)], [rule(shipping_methods=["STANDARD"])])
    plan = router.route(demand(method="EXPRESS"))
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert plan.summary == "Parked: no active routing rule applies to EXPRESS orders."
    assert atp(router, manhattan) == 5


def test_inactive_rules_are_skipped():
    manhattan = facility("MANHATTAN")
    router = make_router([manhattan], [level(manhattan, 5)], [rule("Off", is_active=False)])
    assert router.route(demand()).summary == "Parked: no active routing rule applies to STANDARD orders."


def test_facility_kind_filter():
    manhattan = facility("MANHATTAN")
    warehouse = facility("EDISON", kind=Facility.Kind.WAREHOUSE)
    router = make_router(
        [manhattan, warehouse], [level(manhattan, 5), level(warehouse, 5)],
        [rule("Warehouses only", facility_kind=Facility.Kind.WAREHOUSE)],
    )
    plan = router.route(demand())
    assert plan.facility_id == warehouse.pk
    assert why(plan)["MANHATTAN"] == "store; rule takes warehouses only"
    assert why(plan)["EDISON"] == "chosen: 1 unit(s)"


def test_facility_group_filter():
    manhattan, newark, stamford = facility("MANHATTAN"), facility("NEWARK"), facility("STAMFORD")
    group = FacilityGroup(pk=7, name="Outlets")
    router = make_router(
        [manhattan, newark, stamford], [level(manhattan, 5), level(newark, 5), level(stamford, 5)],
        [rule("Outlets first", facility_group=group)], groups={7: {newark.pk, stamford.pk}},
    )
    plan = router.route(demand())
    assert plan.facility_id == newark.pk
    assert why(plan)["MANHATTAN"] == "not in group Outlets"
    assert why(plan)["STAMFORD"].startswith("farther than NEWARK")


def test_max_distance_filter_names_the_distance_and_the_limit():
    edison, stamford, boston = facility("EDISON"), facility("STAMFORD"), facility("BOSTON")
    router = make_router(
        [edison, stamford, boston], [level(boston, 9), level(stamford, 9), level(edison, 9)],
        [rule("Within 50 km", max_distance_km=50)],
    )
    plan = router.route(demand())
    assert plan.facility_id == edison.pk
    assert why(plan)["STAMFORD"] == "54 km > 50 km"
    assert why(plan)["BOSTON"] == "304 km > 50 km"
    assert candidate(plan, "BOSTON")["distance_km"] == 304.4
    assert candidate(plan, "BOSTON")["routable_atp"] == 9


def test_max_distance_just_over_the_limit_is_not_shown_as_equal():
    # 50.3 km due north of the ship-to: rounding to whole km would read "50 km > 50 km"
    north = facility("NORTH", pk=50, at=(SHIP_TO[0] + 50.3 / 111.195, SHIP_TO[1]))
    router = make_router([north], [level(north, 5)], [rule("Within 50 km", max_distance_km=50)])
    plan = router.route(demand())
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert why(plan)["NORTH"] == "50.3 km > 50 km"


def test_exclude_rejecting_facilities_on_names_the_day():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK")
    router = make_router([manhattan, newark], [level(manhattan, 5), level(newark, 5)])
    plan = router.route(demand(rejected_on={manhattan.pk: NOV_27}))
    assert plan.facility_id == newark.pk
    assert why(plan)["MANHATTAN"] == "rejected this item on 27 Nov"


def test_exclude_rejecting_facilities_off_lets_an_earlier_rejecter_take_it_again():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK")
    router = make_router(
        [manhattan, newark], [level(manhattan, 5), level(newark, 5)], [rule("Nearest, rejecters too", exclude_rejecting_facilities=False)]
    )
    plan = router.route(demand(rejected_on={manhattan.pk: NOV_27}))
    assert plan.facility_id == manhattan.pk


def test_the_facility_that_just_rejected_is_excluded_even_when_the_rule_allows_rejecters():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK")
    router = make_router(
        [manhattan, newark], [level(manhattan, 5), level(newark, 5)], [rule("Nearest, rejecters too", exclude_rejecting_facilities=False)]
    )
    plan = router.route(demand(rejected_on={manhattan.pk: NOV_27}, just_rejected_facility_id=manhattan.pk))
    assert plan.facility_id == newark.pk
    assert why(plan)["MANHATTAN"] == "rejected this item just now"
    assert atp(router, manhattan) == 5


def test_inactive_and_not_routable_facilities_are_explained():
    manhattan = facility("MANHATTAN", is_active=False)
    newark = facility("NEWARK", allows_routing=False)
    stamford = facility("STAMFORD")
    router = make_router([manhattan, newark, stamford], [level(manhattan, 5), level(newark, 5), level(stamford, 5)])
    plan = router.route(demand())
    assert plan.facility_id == stamford.pk
    assert why(plan) == {
        "MANHATTAN": "facility inactive",
        "NEWARK": "not accepting routed orders",
        "STAMFORD": "chosen: 1 unit(s)",
    }


# -- eligibility: routable ATP and capacity ------------------------------------------------------------------------
def test_facility_safety_stock_is_held_back_from_routing():
    manhattan = facility("MANHATTAN", safety_stock=2)
    newark = facility("NEWARK")
    router = make_router([manhattan, newark], [level(manhattan, 3), level(newark, 5)])
    assert router.routable_atp(manhattan, PRODUCT) == 1

    plan = router.route(demand(quantity=2))
    assert plan.facility_id == newark.pk
    assert why(plan)["MANHATTAN"] == "routable ATP 1 < 2 needed"
    assert candidate(plan, "MANHATTAN")["routable_atp"] == 1

    plan = router.route(demand(quantity=1, key=2))
    assert plan.facility_id == manhattan.pk
    assert atp(router, manhattan) == 2  # the two safety units stay
    plan = router.route(demand(quantity=1, key=3))
    assert plan.facility_id == newark.pk
    assert why(plan)["MANHATTAN"] == "ATP 2, all held as safety stock (2)"


def test_safety_stock_override_per_product_wins_over_the_facility():
    manhattan = facility("MANHATTAN", safety_stock=5)
    router = make_router([manhattan], [level(manhattan, 3, safety_stock=0)])
    assert router.routable_atp(manhattan, PRODUCT) == 3
    assert router.route(demand(quantity=3)).facility_id == manhattan.pk

    stricter = facility("NEWARK", safety_stock=0)
    router = make_router([stricter], [level(stricter, 3, safety_stock=3)])
    plan = router.route(demand())
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert why(plan)["NEWARK"] == "ATP 3, all held as safety stock (3)"


def test_atp_zero_and_no_stock_record_read_atp_0():
    manhattan, newark, stamford = facility("MANHATTAN"), facility("NEWARK"), facility("STAMFORD")
    router = make_router([manhattan, newark, stamford], [level(manhattan, 0, qoh=4), level(stamford, 1)])
    plan = router.route(demand())
    assert plan.facility_id == stamford.pk
    assert why(plan)["MANHATTAN"] == "ATP 0"
    assert why(plan)["NEWARK"] == "ATP 0"  # never held the product


def test_daily_order_limit_from_earlier_today():
    manhattan = facility("MANHATTAN", daily_order_limit=2)
    newark = facility("NEWARK")
    router = make_router([manhattan, newark], [level(manhattan, 9), level(newark, 9)], loads={manhattan.pk: 2})
    plan = router.route(demand())
    assert plan.facility_id == newark.pk
    assert why(plan)["MANHATTAN"] == "over daily limit (2/2 lines today)"


def test_daily_order_limit_counts_lines_routed_in_this_run():
    manhattan = facility("MANHATTAN", daily_order_limit=3)
    newark = facility("NEWARK")
    router = make_router([manhattan, newark], [level(manhattan, 9), level(newark, 9)], loads={manhattan.pk: 1})
    placed = [router.route(demand(key=k)).facility_id for k in range(4)]
    assert placed == [manhattan.pk, manhattan.pk, newark.pk, newark.pk]
    assert router.routed_today == {manhattan.pk: 2, newark.pk: 2}


def test_daily_order_limit_zero_takes_nothing():
    manhattan = facility("MANHATTAN", daily_order_limit=0)
    router = make_router([manhattan], [level(manhattan, 9)])
    plan = router.route(demand())
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert why(plan)["MANHATTAN"] == "over daily limit (0/0 lines today)"


# -- sorts and their tie-breaks ---------------------------------------------------------------------------------------
def test_proximity_nearest_first_and_says_how_much_farther():
    manhattan, newark, stamford = facility("MANHATTAN"), facility("NEWARK"), facility("STAMFORD")
    router = make_router([stamford, newark, manhattan], [level(f, 5) for f in (stamford, newark, manhattan)])
    plan = router.route(demand())
    assert plan.facility_id == manhattan.pk
    assert plan.rule.name == "Nearest with the whole line"
    assert "nearest with the whole line, 9.2 km away" in plan.summary
    assert why(plan)["NEWARK"] == "farther than MANHATTAN (20.3 km vs 9.2 km)"
    assert why(plan)["STAMFORD"] == "farther than MANHATTAN (53.9 km vs 9.2 km)"


def test_proximity_tie_goes_to_priority_then_code():
    a = facility("TWIN-B", pk=11, at=PLACES["MANHATTAN"], priority=20)
    b = facility("TWIN-A", pk=12, at=PLACES["MANHATTAN"], priority=20)
    c = facility("TWIN-C", pk=13, at=PLACES["MANHATTAN"], priority=30)
    router = make_router([c, a, b], [level(f, 5) for f in (a, b, c)])
    plan = router.route(demand())
    assert plan.facility_id == b.pk  # same distance, same priority: code TWIN-A before TWIN-B
    assert why(plan)["TWIN-B"] == "tie broken in favour of TWIN-A (priority, then code)"
    assert why(plan)["TWIN-C"] == "tie broken in favour of TWIN-A (priority, then code)"


def test_inventory_balance_most_routable_first():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK", safety_stock=1)
    router = make_router(
        [manhattan, newark], [level(manhattan, 3), level(newark, 10)], [rule("Balance", sort=RoutingRule.Sort.INVENTORY_BALANCE)]
    )
    plan = router.route(demand())
    assert plan.facility_id == newark.pk
    assert "most routable ATP (9), 20.3 km away" in plan.summary
    assert why(plan)["MANHATTAN"] == "less routable ATP than NEWARK (3 vs 9)"


def test_inventory_balance_tie_goes_to_the_nearest():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK")
    router = make_router(
        [newark, manhattan], [level(manhattan, 4), level(newark, 4)], [rule("Balance", sort=RoutingRule.Sort.INVENTORY_BALANCE)]
    )
    plan = router.route(demand())
    assert plan.facility_id == manhattan.pk
    assert why(plan)["NEWARK"] == "farther than MANHATTAN (20.3 km vs 9.2 km)"


def test_priority_lowest_number_first_then_nearest():
    manhattan = facility("MANHATTAN", priority=50)
    stamford = facility("STAMFORD", priority=10)
    boston = facility("BOSTON", priority=10)
    router = make_router(
        [manhattan, stamford, boston], [level(f, 5) for f in (manhattan, stamford, boston)],
        [rule("By priority", sort=RoutingRule.Sort.PRIORITY)],
    )
    plan = router.route(demand())
    assert plan.facility_id == stamford.pk
    assert "highest priority (10), 53.9 km away" in plan.summary
    assert why(plan)["MANHATTAN"] == "lower priority than STAMFORD (50 vs 10)"
    assert why(plan)["BOSTON"] == "farther than STAMFORD (304.4 km vs 53.9 km)"


@pytest.mark.parametrize("sort", list(RoutingRule.Sort.values))
def test_every_sort_is_deterministic_whatever_the_facility_order(sort):
    twins = [facility(f"T{i}", pk=20 + i, at=PLACES["NEWARK"]) for i in range(6)]
    winners = set()
    for seed in range(10):
        shuffled = twins[:]
        random.Random(seed).shuffle(shuffled)
        router = make_router(shuffled, [level(f, 5) for f in twins], [rule("Any", sort=sort)])
        plan = router.route(demand())
        winners.add(plan.facility_id)
        assert [c["facility"] for c in rows(plan)] == [f.code for f in shuffled]  # listed as given
    assert winners == {twins[0].pk}  # all equal: the lowest code wins, every time


# -- allocation -------------------------------------------------------------------------------------------------------
def test_whole_line_goes_past_a_nearer_facility_with_part_of_it():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK")
    router = make_router([manhattan, newark], [level(manhattan, 2), level(newark, 5)])
    plan = router.route(demand(quantity=3))
    assert plan.allocations == [(newark.pk, 3)]
    assert plan.outcome == RoutingDecision.Outcome.ROUTED
    assert why(plan)["MANHATTAN"] == "routable ATP 2 < 3 needed"
    assert (atp(router, manhattan), atp(router, newark)) == (2, 2)


def test_split_rule_spreads_the_line_nearest_first_and_reserves_each_part():
    manhattan, newark, stamford = facility("MANHATTAN"), facility("NEWARK"), facility("STAMFORD")
    router = make_router(
        [manhattan, newark, stamford], [level(manhattan, 2), level(newark, 1), level(stamford, 4)],
        [rule("Split nearest", allow_split=True)],
    )
    plan = router.route(demand(quantity=5))  # no facility has the whole line
    assert plan.outcome == RoutingDecision.Outcome.SPLIT
    assert plan.allocations == [(manhattan.pk, 2), (newark.pk, 1), (stamford.pk, 2)]
    assert plan.facility_id == manhattan.pk
    assert plan.summary == (
        "Split across Manhattan (2), Newark (1), Stamford (2) by rule “Split nearest”: nearest with stock first, 9.2 km away."
    )
    assert why(plan) == {"MANHATTAN": "chosen: 2 unit(s)", "NEWARK": "chosen: 1 unit(s)", "STAMFORD": "chosen: 2 unit(s)"}
    assert (atp(router, manhattan), atp(router, newark), atp(router, stamford)) == (0, 0, 2)
    assert router.routed_today == {manhattan.pk: 1, newark.pk: 1, stamford.pk: 1}


def test_split_explains_the_facilities_it_did_not_need():
    manhattan, newark, stamford = facility("MANHATTAN"), facility("NEWARK"), facility("STAMFORD")
    router = make_router(
        [manhattan, newark, stamford], [level(manhattan, 2), level(newark, 2), level(stamford, 2)],
        [rule("Split nearest", allow_split=True)],
    )
    plan = router.route(demand(quantity=3))
    assert plan.allocations == [(manhattan.pk, 2), (newark.pk, 1)]
    assert why(plan)["STAMFORD"] == "not needed: MANHATTAN, NEWARK covered the line"
    assert (atp(router, newark), atp(router, stamford)) == (1, 2)


def test_split_rule_prefers_one_facility_with_the_whole_line_even_if_farther():
    manhattan, newark, stamford = facility("MANHATTAN"), facility("NEWARK"), facility("STAMFORD")
    router = make_router(
        [manhattan, newark, stamford], [level(manhattan, 2), level(newark, 3), level(stamford, 9)],
        [rule("Split nearest", allow_split=True)],
    )
    plan = router.route(demand(quantity=5))
    assert plan.allocations == [(stamford.pk, 5)]
    assert plan.outcome == RoutingDecision.Outcome.ROUTED
    assert "nearest with the whole line, 53.9 km away" in plan.summary
    # not "farther than STAMFORD": they are nearer, they lacked the units
    assert why(plan)["MANHATTAN"] == "routable ATP 2 < 5 needed; STAMFORD has the whole line"
    assert why(plan)["NEWARK"] == "routable ATP 3 < 5 needed; STAMFORD has the whole line"
    assert (atp(router, manhattan), atp(router, newark), atp(router, stamford)) == (2, 3, 4)


def test_split_rule_keeps_the_line_whole_when_the_first_facility_has_it():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK")
    router = make_router([manhattan, newark], [level(manhattan, 5), level(newark, 5)], [rule("Split", allow_split=True)])
    plan = router.route(demand(quantity=4))
    assert plan.allocations == [(manhattan.pk, 4)]
    assert plan.outcome == RoutingDecision.Outcome.ROUTED


def test_split_rule_that_cannot_cover_the_line_reserves_nothing_and_the_next_rule_is_tried():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK")
    rules = [rule("Split", sequence=10, allow_split=True), rule("Whole", sequence=20)]
    router = make_router([manhattan, newark], [level(manhattan, 2), level(newark, 2)], rules)
    plan = router.route(demand(quantity=5))
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert (atp(router, manhattan), atp(router, newark)) == (2, 2)
    assert plan.summary == "Parked: no facility can take the whole line under the rules tried (“Split”; “Whole”)."
    assert why(plan) == {"MANHATTAN": "routable ATP 2 < 5 needed", "NEWARK": "routable ATP 2 < 5 needed"}


def test_split_respects_safety_stock_in_each_part():
    manhattan = facility("MANHATTAN", safety_stock=1)
    newark = facility("NEWARK")
    router = make_router([manhattan, newark], [level(manhattan, 3), level(newark, 3)], [rule("Split", allow_split=True)])
    plan = router.route(demand(quantity=4))
    assert plan.allocations == [(manhattan.pk, 2), (newark.pk, 2)]
    assert atp(router, manhattan) == 1


# -- rules in sequence, parking ---------------------------------------------------------------------------------------
def test_rules_are_tried_in_sequence_until_one_places():
    manhattan = facility("MANHATTAN")
    warehouse = facility("EDISON", kind=Facility.Kind.WAREHOUSE)
    rules = [
        rule("Warehouse within 30 km", sequence=10, facility_kind=Facility.Kind.WAREHOUSE, max_distance_km=30),
        rule("Nearest store", sequence=20, facility_kind=Facility.Kind.STORE),
    ]
    router = make_router([manhattan, warehouse], [level(manhattan, 5), level(warehouse, 5)], rules)
    plan = router.route(demand())
    assert plan.rule.name == "Nearest store" and plan.facility_id == manhattan.pk
    assert why(plan)["EDISON"] == "warehouse; rule takes stores only"
    assert {c["rule"] for c in rows(plan)} == {"Nearest store"}


def test_unrouted_keeps_every_candidates_reason():
    manhattan, newark, stamford = facility("MANHATTAN"), facility("NEWARK"), facility("STAMFORD", daily_order_limit=1)
    router = make_router(
        [manhattan, newark, stamford], [level(manhattan, 0), level(newark, 5), level(stamford, 5)], loads={stamford.pk: 1}
    )
    plan = router.route(demand(rejected_on={newark.pk: NOV_27}, just_rejected_facility_id=newark.pk))
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert plan.allocations == [] and plan.rule is None and plan.facility_id is None
    assert plan.summary == "Parked: no facility can take the whole line under the rules tried (“Nearest with the whole line”)."
    assert why(plan) == {
        "MANHATTAN": "ATP 0",
        "NEWARK": "rejected this item just now",
        "STAMFORD": "over daily limit (1/1 lines today)",
    }
    assert all(c["chosen"] is False for c in rows(plan))


def test_eligible_but_not_placed_is_said_plainly():
    manhattan, newark = facility("MANHATTAN"), facility("NEWARK")
    router = make_router([manhattan, newark], [level(manhattan, 2), level(newark, 2)], [rule("Split", allow_split=True)])
    plan = router.route(demand(quantity=9))
    assert why(plan) == {
        "MANHATTAN": "eligible, but no rule placed the whole line",
        "NEWARK": "eligible, but no rule placed the whole line",
    }


def test_many_facilities_without_a_stock_record_are_counted_not_listed():
    stocked = facility("MANHATTAN")
    others = [facility(f"EMPTY{i:02d}", pk=200 + i, at=PLACES["BOSTON"]) for i in range(LISTED_WITHOUT_STOCK_RECORD + 3)]
    router = make_router([stocked, *others], [level(stocked, 5)])
    plan = router.route(demand())
    assert plan.facility_id == stocked.pk
    assert len(rows(plan)) == 2
    assert rows(plan)[-1]["name"] == f"{LISTED_WITHOUT_STOCK_RECORD + 3} other facilities"
    assert rows(plan)[-1]["reason"] == "no stock record of this product"


def test_candidates_carry_distance_routable_atp_and_the_rule():
    manhattan, stamford = facility("MANHATTAN", safety_stock=1), facility("STAMFORD")
    router = make_router([manhattan, stamford], [level(manhattan, 4), level(stamford, 7)], [rule("Nearest")])
    plan = router.route(demand())
    assert rows(plan) == [
        {"facility": "MANHATTAN", "name": "Manhattan", "distance_km": 9.2, "routable_atp": 3, "chosen": True,
         "reason": "chosen: 1 unit(s)", "rule": "Nearest"},
        {"facility": "STAMFORD", "name": "Stamford", "distance_km": 53.9, "routable_atp": 7, "chosen": False,
         "reason": "farther than MANHATTAN (53.9 km vs 9.2 km)", "rule": "Nearest"},
    ]


# -- shipping preferences: pickup, same day, express ------------------------------------------------------------------
def test_store_pickup_only_at_the_customers_pickup_store():
    brooklyn, manhattan = facility("BROOKLYN"), facility("MANHATTAN")
    router = make_router([brooklyn, manhattan], [level(brooklyn, 1), level(manhattan, 50)])
    plan = router.route(demand(method="STORE_PICKUP", at=PLACES["MANHATTAN"], pickup_facility_id=brooklyn.pk))
    assert plan.facility_id == brooklyn.pk
    assert why(plan)["MANHATTAN"] == "not the customer's pickup store"


def test_store_pickup_without_stock_at_the_pickup_store_parks_rather_than_moves():
    brooklyn, manhattan = facility("BROOKLYN"), facility("MANHATTAN")
    router = make_router([brooklyn, manhattan], [level(brooklyn, 0), level(manhattan, 50)])
    plan = router.route(demand(method="STORE_PICKUP", pickup_facility_id=brooklyn.pk))
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert why(plan) == {"BROOKLYN": "ATP 0", "MANHATTAN": "not the customer's pickup store"}
    assert atp(router, manhattan) == 50


@pytest.mark.parametrize("exclude_rejecters", [True, False])
def test_store_pickup_rejected_by_its_store_parks_for_the_operations_team(exclude_rejecters):
    brooklyn, manhattan = facility("BROOKLYN"), facility("MANHATTAN")
    router = make_router(
        [brooklyn, manhattan], [level(brooklyn, 5), level(manhattan, 50)],
        [rule("Pickup", exclude_rejecting_facilities=exclude_rejecters)],
    )
    plan = router.route(
        demand(method="STORE_PICKUP", pickup_facility_id=brooklyn.pk, rejected_on={brooklyn.pk: NOV_27},
               just_rejected_facility_id=brooklyn.pk)
    )
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert plan.summary == "Parked for the operations team: the customer's pickup store rejected it; a person must decide."
    assert why(plan) == {"BROOKLYN": "rejected this item just now", "MANHATTAN": "not the customer's pickup store"}
    assert atp(router, manhattan) == 50


def test_store_pickup_routed_again_later_stays_in_the_pickup_queue():
    brooklyn, manhattan = facility("BROOKLYN"), facility("MANHATTAN")
    router = make_router([brooklyn, manhattan], [level(brooklyn, 5), level(manhattan, 50)])
    plan = router.route(demand(method="STORE_PICKUP", pickup_facility_id=brooklyn.pk, rejected_on={brooklyn.pk: NOV_27}))
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert plan.summary.startswith("Parked for the operations team")
    assert why(plan)["BROOKLYN"] == "rejected this item on 27 Nov"


SAME_DAY_RULES = [
    rule("Same day: nearest facility within 50 km with the whole line", sequence=10, shipping_methods=["SAME_DAY"], max_distance_km=50),
    rule("Nearest facility with the whole line", sequence=20, shipping_methods=["STANDARD", "EXPRESS", "STORE_PICKUP"]),
]


def test_same_day_only_within_the_rules_distance():
    edison, stamford = facility("EDISON"), facility("STAMFORD")
    router = make_router([edison, stamford], [level(edison, 1), level(stamford, 5)], SAME_DAY_RULES)
    plan = router.route(demand(method="SAME_DAY"))
    assert plan.facility_id == edison.pk
    plan = router.route(demand(method="SAME_DAY", key=2))
    assert plan.outcome == RoutingDecision.Outcome.UNROUTED
    assert why(plan) == {"EDISON": "ATP 0", "STAMFORD": "54 km > 50 km"}
    assert "“Same day: nearest facility within 50 km with the whole line”" in plan.summary
    # the same item shipped standard goes the distance
    assert router.route(demand(method="STANDARD", key=3)).facility_id == stamford.pk


EXPRESS_RULES = [
    rule("Express from a warehouse", sequence=5, shipping_methods=["EXPRESS"], facility_kind=Facility.Kind.WAREHOUSE),
    *SAME_DAY_RULES,
]


def test_express_prefers_a_warehouse_when_a_rule_says_so():
    manhattan = facility("MANHATTAN")
    warehouse = facility("PHILLY", kind=Facility.Kind.WAREHOUSE)
    router = make_router([manhattan, warehouse], [level(manhattan, 5), level(warehouse, 5)], EXPRESS_RULES)
    express = router.route(demand(method="EXPRESS"))
    assert express.facility_id == warehouse.pk and express.rule.name == "Express from a warehouse"
    assert why(express)["MANHATTAN"] == "store; rule takes warehouses only"
    standard = router.route(demand(method="STANDARD", key=2))
    assert standard.facility_id == manhattan.pk


def test_express_falls_back_to_stores_when_no_warehouse_has_it():
    manhattan = facility("MANHATTAN")
    warehouse = facility("PHILLY", kind=Facility.Kind.WAREHOUSE)
    router = make_router([manhattan, warehouse], [level(manhattan, 5), level(warehouse, 0)], EXPRESS_RULES)
    plan = router.route(demand(method="EXPRESS"))
    assert plan.facility_id == manhattan.pk
    assert plan.rule.name == "Nearest facility with the whole line"
    assert why(plan)["PHILLY"] == "ATP 0"


def test_a_large_chain_lists_the_nearest_candidates_and_counts_the_rest_by_reason():
    """30 stocked facilities: the chosen one, the rejecting one and the nearest others (12 in all) one by one; the rest
    grouped by reason with their count and distance range, so every facility is accounted for."""
    from routing.engine import LISTED_CANDIDATES

    chain = [facility(f"S{n:02d}", pk=200 + n, at=(SHIP_TO[0] + 0.05 * n, SHIP_TO[1])) for n in range(1, 31)]
    levels = [level(f, 0 if n % 3 == 0 else 5) for n, f in enumerate(chain, start=1)]
    router = make_router(chain, levels)
    plan = router.route(demand(rejected_on={chain[-1].pk: NOV_27}))

    assert plan.facility_id == chain[0].pk
    individual = [c for c in rows(plan) if c["facility"]]
    grouped = [c for c in rows(plan) if not c["facility"]]
    assert len(individual) == LISTED_CANDIDATES + 1  # the 12 nearest (the chosen one first) + the rejecting one
    assert why(plan)["S30"] == "rejected this item on 27 Nov"
    assert why(plan)["S01"] == "chosen: 1 unit(s)"
    counted = sum(int(c["name"].split()[0]) for c in grouped)
    assert len(individual) + counted == 30
    reasons = {c["reason"].split(",")[0] for c in grouped}
    assert "no routable ATP" in reasons
    assert any(r.startswith("farther than S01") for r in reasons)
    assert all(" km)" in c["name"] for c in grouped)
