"""Orders and their items, rejection reasons and rejections, who works where, rejection policies and bulk rejections."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from inventory.effects import InventoryEffect
from inventory.validators import validate_single_line
from routing.models import ParkedKind, ShippingMethod

from .validators import EARLIEST, STORED_LATEST, validate_sane_moment


class Order(models.Model):
    name = models.CharField(max_length=32, unique=True, help_text="e.g. #10042", validators=[validate_single_line])
    customer_name = models.CharField(max_length=120, validators=[validate_single_line])
    customer_email = models.EmailField(blank=True)
    shipping_method = models.CharField(max_length=16, choices=ShippingMethod.choices, default=ShippingMethod.STANDARD)
    ship_to_address = models.CharField(max_length=200, blank=True)
    ship_to_city = models.CharField(max_length=80, blank=True)
    ship_to_postal_code = models.CharField(max_length=16, blank=True)
    ship_to_latitude = models.FloatField()
    ship_to_longitude = models.FloatField()
    pickup_facility = models.ForeignKey(
        "inventory.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="pickup_orders"
    )
    placed_at = models.DateTimeField(
        db_index=True, validators=[validate_sane_moment], help_text="UTC; between 2000-01-01 and a year from now."
    )

    class Meta:
        ordering = ["placed_at", "id"]
        constraints = [
            # A moment Python can read back: one outside this window made every page of its store answer 500.
            models.CheckConstraint(
                condition=Q(placed_at__gte=EARLIEST, placed_at__lt=STORED_LATEST), name="order_placed_at_in_window"
            ),
            models.CheckConstraint(
                condition=Q(shipping_method=ShippingMethod.STORE_PICKUP, pickup_facility__isnull=False)
                | (~Q(shipping_method=ShippingMethod.STORE_PICKUP) & Q(pickup_facility__isnull=True)),
                name="order_pickup_facility_iff_store_pickup",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_pickup(self) -> bool:
        return self.shipping_method == ShippingMethod.STORE_PICKUP


# Joins the fields of OrderItem.search_text (the unit separator): a search containing it falls back to per-field matching.
SEARCH_SEPARATOR = "\x1f"


class OrderItem(models.Model):
    class Status(models.TextChoices):
        UNROUTED = "UNROUTED", "Parked"
        OPEN = "OPEN", "Open"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETED = "COMPLETED", "Completed"
        CANCELLED = "CANCELLED", "Cancelled"

    REJECTABLE = (Status.OPEN, Status.IN_PROGRESS)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="order_items")
    quantity = models.PositiveIntegerField()
    facility = models.ForeignKey(
        "inventory.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="order_items"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNROUTED)
    parked_reason = models.CharField(max_length=300, blank=True, help_text="Why no facility could take it.")
    parked_kind = models.CharField(
        max_length=16, blank=True, choices=ParkedKind.choices, help_text="Which kind of parked: set by the routing plan."
    )
    split_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="split_parts")
    status_changed_at = models.DateTimeField(auto_now_add=True)
    parked_since = models.DateTimeField(
        null=True, blank=True, help_text="When it was parked (kept while routing again re-parks it); empty unless parked."
    )
    # Per-item delivery chosen by the customer after a rejection (empty = the order's): see services/customer_choice.py.
    shipping_method = models.CharField(
        max_length=16, choices=ShippingMethod.choices, blank=True, help_text="Empty = the order's shipping method."
    )
    pickup_facility = models.ForeignKey(
        "inventory.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="pickup_items",
        help_text="The store the customer chose instead of the order's pickup store.",
    )
    # Copies of the order's fields that the store pages sort by (order_placed_at: index order_item_fac_placed_idx) and
    # search (search_text: on PostgreSQL a GIN trigram index that starts with facility and status). Database triggers
    # (migrations 0011, 0012) keep them right however rows are written.
    order_placed_at = models.DateTimeField(
        null=True, editable=False,
        help_text="A copy of the order's placed_at (the store pages sort by it). Written only by database "
        "triggers (migration 0012), never by the app.",
    )
    search_text = models.TextField(
        default="", editable=False,
        help_text="What the dashboard search matches: the order's name, customer name and email and the "
        "product's SKU, UPC and name, joined by SEARCH_SEPARATOR. Written only by database triggers "
        "(migration 0011), never by the app.",
    )

    class Meta:
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_item_quantity_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["OPEN", "IN_PROGRESS", "COMPLETED"], facility__isnull=False)
                | Q(status="UNROUTED", facility__isnull=True)
                | Q(status="CANCELLED"),
                name="order_item_facility_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(shipping_method="STORE_PICKUP", pickup_facility__isnull=False)
                | (~Q(shipping_method="STORE_PICKUP") & Q(pickup_facility__isnull=True)),
                name="order_item_pickup_facility_iff_store_pickup",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "status", "order"], name="order_item_facility_status_idx"),
            models.Index(fields=["status", "product"], name="order_item_status_product_idx"),
            models.Index(fields=["facility", "status_changed_at"], name="order_item_fac_changed_idx"),
            models.Index(fields=["facility", "status", "order_placed_at", "order"], name="order_item_fac_placed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.id} {self.quantity}x{self.product_id} {self.status}"

    @property
    def effective_shipping_method(self) -> str:
        return self.shipping_method or self.order.shipping_method

    @property
    def effective_pickup_facility_id(self) -> int | None:
        if self.shipping_method:
            return self.pickup_facility_id
        return self.order.pickup_facility_id


class RejectionReason(models.Model):
    code = models.CharField(max_length=40, unique=True)
    label = models.CharField(max_length=80, validators=[validate_single_line])
    inventory_effect = models.CharField(max_length=24, choices=InventoryEffect.choices)
    is_active = models.BooleanField(default=True)
    is_system = models.BooleanField(
        default=False, help_text="Used by policies (order split avoidance, cascades); not offered to associates."
    )
    sequence = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["sequence", "code"]

    def __str__(self) -> str:
        return self.label


class BulkRejection(models.Model):
    """A Reject All: what was asked, by whom, and what it did (progress and summary)."""

    class State(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"
        FAILED = "FAILED", "Failed"

    facility = models.ForeignKey("inventory.Facility", on_delete=models.PROTECT, related_name="bulk_rejections")
    from_status = models.CharField(max_length=16, choices=[(s.value, s.label) for s in OrderItem.REJECTABLE])
    reason = models.ForeignKey(RejectionReason, on_delete=models.PROTECT, related_name="bulk_rejections")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stop_routing = models.BooleanField(default=False)
    order_names = models.JSONField(default=list, blank=True, help_text="Limited to these orders; empty = all.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total_items = models.PositiveIntegerField(default=0)
    total_orders = models.PositiveIntegerField(default=0)
    processed_items = models.PositiveIntegerField(default=0)
    rejected_items = models.PositiveIntegerField(default=0)
    parked_items = models.PositiveIntegerField(default=0)
    skipped_items = models.PositiveIntegerField(default=0, help_text="Moved by someone else meanwhile.")
    rerouted = models.JSONField(default=dict, blank=True, help_text="{facility code: items re-routed there}")
    error = models.TextField(blank=True)
    item_ids = models.JSONField(
        default=list, blank=True, help_text="The items it set out to reject (pk order): a resumed run goes on after processed_items."
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs claimed so far (a resumed or retried run is one more).")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life (queued, claimed, each batch); a stale RUNNING job is resumed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["heartbeat_at"], name="bulkrej_live_heartbeat", condition=models.Q(state__in=["QUEUED", "RUNNING"])),
        ]

    def __str__(self) -> str:
        return f"Reject all {self.from_status} at {self.facility_id} ({self.state})"

    @property
    def rerouted_items(self) -> int:
        return sum(self.rerouted.values())

    @property
    def percent_done(self) -> int:
        if not self.total_items:
            return 100 if self.state == self.State.DONE else 0
        return min(100, round(100 * self.processed_items / self.total_items))

    def is_paused(self, *, now, after_seconds: int) -> bool:
        """Unfinished, and no batch has committed (no heartbeat) for `after_seconds`: its worker is gone or slow."""
        if self.state not in (self.State.QUEUED, self.State.RUNNING) or self.heartbeat_at is None:
            return False
        return (now - self.heartbeat_at).total_seconds() > after_seconds


class Rejection(models.Model):
    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="rejections")
    facility = models.ForeignKey("inventory.Facility", on_delete=models.PROTECT, related_name="rejections")
    reason = models.ForeignKey(RejectionReason, on_delete=models.PROTECT, related_name="rejections")
    quantity = models.PositiveIntegerField()
    comment = models.CharField(max_length=500, blank=True)
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    routed_to = models.ForeignKey(
        "inventory.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="rejections_routed_here"
    )
    bulk_rejection = models.ForeignKey(
        BulkRejection, null=True, blank=True, on_delete=models.SET_NULL, related_name="rejections"
    )
    caused_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="collateral",
        help_text="The rejection whose policy caused this one (order split avoidance, cascade by product).",
    )
    routed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the routing that placed the item (or the line it was split from) at this facility was decided.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="rejection_quantity_positive")]
        indexes = [
            models.Index(fields=["order_item", "facility"], name="rejection_item_facility_idx"),
            models.Index(fields=["facility", "created_at"], name="rejection_facility_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_item_id} rejected at {self.facility_id}: {self.reason_id}"


class FacilityMembership(models.Model):
    class Role(models.TextChoices):
        ASSOCIATE = "ASSOCIATE", "Associate"
        MANAGER = "MANAGER", "Manager"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="facility_memberships")
    facility = models.ForeignKey("inventory.Facility", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ASSOCIATE)

    class Meta:
        ordering = ["facility__code", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "facility"], name="facility_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.facility} ({self.role})"


class RejectionPolicy(models.Model):
    """Global policy (facility empty) with optional per-facility overrides."""

    facility = models.OneToOneField(
        "inventory.Facility", null=True, blank=True, on_delete=models.CASCADE, related_name="rejection_policy"
    )
    allow_partial_order_rejection = models.BooleanField(
        default=True,
        help_text="Off: rejecting one item also rejects the order's other items here (with the system reason "
        "“order split avoidance”), "
        "so the order ships together from elsewhere.",
    )
    cascade_not_in_stock = models.BooleanField(
        default=False,
        help_text="On: a Not in stock rejection also rejects this facility's other open items of the product (with the "
        "system reason “cascade by product”) and re-routes them at once, so none of them waits here on a short level; "
        "items already being picked stay.",
    )

    class Meta:
        verbose_name_plural = "rejection policies"
        constraints = [
            models.UniqueConstraint(
                fields=["facility"], condition=Q(facility__isnull=True), name="rejection_policy_single_global"
            ),
        ]

    def __str__(self) -> str:
        return f"Rejection policy for {self.facility or 'all facilities'}"


class ParkedItemPolicy(models.Model):
    """How long a parked item may wait before it is cancelled: one global policy, optional per facility group."""

    facility_group = models.OneToOneField(
        "inventory.FacilityGroup", null=True, blank=True, on_delete=models.CASCADE, related_name="parked_item_policy",
        help_text="Empty = the global policy. An item belongs to the groups of the facility that last rejected it "
        "(or of its pickup store); the shortest limit of those groups applies, else the global one.",
    )
    cancel_after_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Cancel items parked longer than this many days; empty = never (the default)."
    )

    class Meta:
        verbose_name_plural = "parked item policies"
        constraints = [
            models.UniqueConstraint(
                fields=["facility_group"], condition=Q(facility_group__isnull=True), name="parked_item_policy_single_global"
            ),
            models.CheckConstraint(condition=Q(cancel_after_days__gte=1) | Q(cancel_after_days__isnull=True),
                                   name="parked_item_policy_days_positive"),
        ]

    def __str__(self) -> str:
        days = f"cancel after {self.cancel_after_days} days" if self.cancel_after_days else "never cancel"
        return f"Parked items of {self.facility_group or 'all facilities'}: {days}"


class PickupChoice(models.Model):
    """The customer's say over a store-pickup item its pickup store rejected: one signed link, usable once."""

    class Outcome(models.TextChoices):
        OTHER_STORE = "OTHER_STORE", "Pick up at another store"
        SHIP = "SHIP", "Ship to the customer's address"
        CANCEL = "CANCEL", "Cancelled by the customer"
        AUTO_CANCELLED = "AUTO_CANCELLED", "Cancelled: parked too long"
        SUPERSEDED = "SUPERSEDED", "Replaced by a newer link"

    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="pickup_choices")
    rejection = models.ForeignKey(Rejection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    chosen_facility = models.ForeignKey(
        "inventory.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ship_to_address = models.CharField(max_length=200, blank=True)
    ship_to_city = models.CharField(max_length=80, blank=True)
    ship_to_postal_code = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True, outcome="") | Q(used_at__isnull=False) & ~Q(outcome=""),
                name="pickup_choice_used_iff_outcome",
            ),
            models.UniqueConstraint(
                fields=["order_item"], condition=Q(used_at__isnull=True), name="pickup_choice_one_waiting_per_item"
            ),
        ]

    def __str__(self) -> str:
        return f"Pickup choice for item {self.order_item_id}: {self.get_outcome_display() or 'waiting'}"

    @property
    def is_waiting(self) -> bool:
        return self.used_at is None


class Notification(models.Model):
    """One email: to whom, about what, and whether it left (sent by the task in fulfillment/tasks.py)."""

    class Kind(models.TextChoices):
        PICKUP_REJECTED = "PICKUP_REJECTED", "Pickup store could not fulfil: customer's choice"
        ITEM_CANCELLED = "ITEM_CANCELLED", "Item cancelled: parked too long"
        CHOICE_CONFIRMED = "CHOICE_CONFIRMED", "Customer's choice confirmed"
        DIGEST = "DIGEST", "Operations digest"

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        SENDING = "SENDING", "Sending"
        SENT = "SENT", "Sent"
        FAILED = "FAILED", "Failed"

    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    order_item = models.ForeignKey(OrderItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    context = models.JSONField(default=dict, blank=True, help_text="What the templates render (plain values).")
    digest_date = models.DateField(null=True, blank=True, help_text="The day a digest reports on.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status="SENT", sent_at__isnull=False) | ~Q(status="SENT"),
                                   name="notification_sent_has_time"),
            models.UniqueConstraint(fields=["kind", "recipient", "digest_date"], condition=Q(kind="DIGEST"),
                                    name="notification_one_digest_per_day_and_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.status})"


class RoutedUnitsDaily(models.Model):
    """Units routed to a facility on one of its local days, per product and shipping method: the denominator of the
    rejection rate. Written by ``items_place`` in the transaction that records the routing decisions, so it is exactly
    the sum of the decisions' allocations (a migration filled it from the decisions made before it existed)."""

    facility = models.ForeignKey("inventory.Facility", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The facility's local date of the routing.")
    product = models.ForeignKey("inventory.Product", on_delete=models.CASCADE, related_name="+")
    shipping_method = models.CharField(max_length=16, choices=ShippingMethod.choices)
    units = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "routed units per day"
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "day", "product", "shipping_method"], name="routed_units_daily_unique"
            ),
        ]
        indexes = [models.Index(fields=["day", "facility"], name="routed_units_daily_day_idx")]

    def __str__(self) -> str:
        return f"{self.facility_id} {self.day} {self.product_id} {self.shipping_method}: {self.units}"
