"""The fulfillment app's admin, one module per part of the app (each registers its models with ``admin.site``):

- ``orders``: orders and their items (Reject selected items, Route selected unrouted items);
- ``rejections``: rejection reasons, rejections (Export CSV), rejection policies, Reject All jobs;
- ``customers``: the customers' pickup choices and every email sent;
- ``operations``: who works where, the parked-item policies, the routed-units roll-up of the reports;
- ``stock``: "Receive stock" and "Set counted quantity" on the inventory app's levels (they route parked items);
- ``axes``: django-axes' admin with the date-filter guard.

Admin actions are thin: they ask for input on an intermediate page (``actions.render_action_form``,
``templates/admin/action_form.html``), call the same services as the associate pages and the commands, and report
what happened with ``message_user``. The other apps administer their own models (``inventory/admin.py``,
``routing/admin.py``).
"""

from . import axes, customers, operations, orders, rejections, stock  # noqa: F401  (each registers its admins)
