"""Orders and their items, rejection reasons and rejections, who works where, rejection policies and bulk rejections."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ShippingMethod(models.TextChoices):
    STANDARD = "STANDARD", "Standard"
    EXPRESS = "EXPRESS", "Express"
    SAME_DAY = "SAME_DAY", "Same day"
    STORE_PICKUP = "STORE_PICKUP", "Store pickup"


class Order(models.Model):
    name = models.CharField(max_length=32, unique=True, help_text="e.g. #10042")
    customer_name = models.CharField(max_length=120)
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
    placed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["placed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shipping_method="STORE_PICKUP", pickup_facility__isnull=False)
                | (~Q(shipping_method="STORE_PICKUP") & Q(pickup_facility__isnull=True)),
                name="order_pickup_facility_iff_store_pickup",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_pickup(self) -> bool:
        return self.shipping_method == ShippingMethod.STORE_PICKUP


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
    split_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="split_parts")
    status_changed_at = models.DateTimeField(auto_now_add=True)

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
        ]
        indexes = [
            models.Index(fields=["facility", "status", "order"], name="order_item_facility_status_idx"),
            models.Index(fields=["status", "product"], name="order_item_status_product_idx"),
            models.Index(fields=["facility", "status_changed_at"], name="order_item_fac_changed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.id} {self.quantity}x{self.product_id} {self.status}"


class RejectionReason(models.Model):
    class InventoryEffect(models.TextChoices):
        ZERO_ATP_AND_QOH = "ZERO_ATP_AND_QOH", "Set ATP and QOH to 0"
        DECREASE_ATP_AND_QOH = "DECREASE_ATP_AND_QOH", "Decrease ATP and QOH by the quantity"
        DECREASE_ATP = "DECREASE_ATP", "Decrease ATP by the quantity"
        NONE = "NONE", "No change beyond releasing the reservation"

    code = models.CharField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
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
    from_status = models.CharField(max_length=16, choices=[("OPEN", "Open"), ("IN_PROGRESS", "In progress")])
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
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

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
        help_text="Off: rejecting one item also rejects the order's other items here (REJ_AVOID_ORD_SPLIT), "
        "so the order ships together from elsewhere.",
    )
    cascade_not_in_stock = models.BooleanField(
        default=False,
        help_text="On: a Not in stock rejection also rejects this facility's other open items of the product "
        "(REJ_CASCADE_BY_PROD).",
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
