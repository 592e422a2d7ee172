"""Every write of the fulfillment app, one module per sub-domain:

- ``orders``: creating an order (routed at once), starting to pick, completing;
- ``rejections``: the set-based rejection core and a single rejection;
- ``reject_all``: Reject All in batches, recorded as a BulkRejection;
- ``routing``: the placement step every path shares, and routing parked items again (also after receipts and counts);
- ``customer_choice``: the customer's pickup choice after a rejection (emailed on commit) and cancelling parked items;
- ``parked``: cancelling items parked longer than their ParkedItemPolicy allows;
- ``digest``: the operations digest email;
- ``batches``: batch size and chunking of the bulk services;
- ``reports``: the RoutedUnitsDaily roll-up (units routed per store, local day, product and shipping method), written
  by the placement step in the routing's own transaction.

Transactions are declared one way everywhere (``inventory/transactions.py``): ``@transaction.atomic`` on a service
that is one transaction, ``with transaction.atomic():`` per unit in a service that runs several (batches; routing after
a receipt commits), ``@transaction_required`` on a service that writes inside its caller's transaction.

Lock order in every transaction: order items (pk order), then inventory levels (pk order; see ``fulfillment/locks.py``,
``inventory/locks.py``), then the day's load counters of limited facilities and the roll-up rows, taken by their
upserts (key order) in the transaction's one write statement (``inventory.bulk.Writes``).
The services that views, admin actions and commands call are importable from here.
"""

from .customer_choice import pickup_choice_apply
from .digest import digest_send
from .orders import order_complete, order_create, orders_start_picking
from .parked import parked_items_cancel_stale
from .reject_all import (
    bulk_rejection_execute,
    bulk_rejection_request,
    bulk_rejection_retry,
    bulk_rejections_resume,
    facility_reject_all,
)
from .rejections import item_reject, items_reject
from .placement import items_route
from .stock import stock_counts_set, stock_receipts_record, stock_receive

__all__ = [
    "bulk_rejection_execute",
    "bulk_rejection_request",
    "digest_send",
    "bulk_rejection_retry",
    "bulk_rejections_resume",
    "facility_reject_all",
    "item_reject",
    "items_reject",
    "items_route",
    "order_complete",
    "order_create",
    "orders_start_picking",
    "parked_items_cancel_stale",
    "pickup_choice_apply",
    "stock_counts_set",
    "stock_receipts_record",
    "stock_receive",
]
