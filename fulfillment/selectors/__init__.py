"""Reads shared by the pages, admin and commands, one module per part of the app (mirroring ``views/``):

- ``orders``: the store pages (tabs, search, an order, Report an Issue, Reject All) and the rejection reasons and
  policies a rejection reads;
- ``operations``: the parked queue, when a parked item is cancelled, the operations digest;
- ``customer_choice``: the customer's pickup-choice page;
- ``invariant``: the inventory invariant's reservations side;
- ``history``: the items' past that routing and rejecting read.

Every name is importable from ``fulfillment.selectors``.
"""

from .orders import (  # noqa: F401
    active_reasons,
    rejection_policy_for,
    items_for_reject_all,
    reject_all_counts,
    policy_candidates,
    collateral_item_ids,
    DASHBOARD_STATUSES,
    dashboard_tab_counts,
    dashboard_order_ids,
    dashboard_orders,
    search_match,
    dashboard_order_detail,
    dashboard_item,
    dashboard_rejection_plan,
    dashboard_policy_consequences,
    dashboard_inventory_level,
    dashboard_bulk_rejection,
    facility_names,
    dashboard_order_ids_here,
    dashboard_items_here,
    dashboard_shortness_consequence,
    short_levels_of_items,
)
from .operations import (  # noqa: F401
    PARKED_KINDS,
    PARKED_KIND_KEYS,
    parked_kind_key,
    parked_items,
    parked_kind_counts,
    parked_latest_decisions,
    ParkedLimits,
    parked_limits,
    parked_home_facilities,
    parked_since,
    PARKED_SINCE,
    ParkedDeadline,
    parked_deadlines,
    DIGEST_LISTED,
    operations_digest,
)
from .customer_choice import (  # noqa: F401
    pickup_choice_for_page,
    PickupStoreOption,
    pickup_stores_for,
)
from .invariant import (  # noqa: F401
    levels_breaking_inventory_invariant,
    active_items_without_level,
    inventory_level_items,
)
from .history import (  # noqa: F401
    ItemsHistory,
    items_history_read,
)
