"""Routing rules (admin-edited), and the decisions the engine made with every candidate's explanation."""

from django.db import models
from django.db.models import Q

from inventory.models import Facility



class ShippingMethod(models.TextChoices):
    """How an order reaches the customer: the rules filter on it, orders carry it (fulfillment imports it from here)."""

    STANDARD = "STANDARD", "Standard"
    EXPRESS = "EXPRESS", "Express"
    SAME_DAY = "SAME_DAY", "Same day"
    STORE_PICKUP = "STORE_PICKUP", "Store pickup"


class ParkedKind(models.TextChoices):
    """Why the engine could place an item nowhere (the parked queue is sorted by it; OrderItem.parked_kind)."""

    PICKUP_REJECTED = "PICKUP_REJECTED", "Pickup queue: the pickup store rejected it"
    NO_FACILITY = "NO_FACILITY", "No facility can take it (stock, distance, limits)"
    NO_RULE = "NO_RULE", "No routing rule for its shipping method"


class RoutingRule(models.Model):
    class Sort(models.TextChoices):
        PROXIMITY = "PROXIMITY", "Nearest first"
        INVENTORY_BALANCE = "INVENTORY_BALANCE", "Most routable ATP first"
        PRIORITY = "PRIORITY", "Facility priority (custom sequence)"

    name = models.CharField(max_length=120)
    sequence = models.PositiveIntegerField(default=100, help_text="Rules are tried in this order until one places the item.")
    is_active = models.BooleanField(default=True)
    shipping_methods = models.JSONField(
        default=list, blank=True, help_text="Shipping methods this rule applies to; empty = all."
    )
    facility_kind = models.CharField(
        max_length=16, blank=True, choices=Facility.Kind.choices, help_text="Empty = any kind."
    )
    facility_group = models.ForeignKey(
        "inventory.FacilityGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="routing_rules"
    )
    max_distance_km = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = any distance.")
    exclude_rejecting_facilities = models.BooleanField(
        default=True,
        help_text="Skip facilities that rejected this item before. The facility that just rejected it is always skipped.",
    )
    sort = models.CharField(max_length=24, choices=Sort.choices, default=Sort.PROXIMITY)
    allow_split = models.BooleanField(default=False, help_text="A line may be split across facilities.")

    class Meta:
        ordering = ["sequence", "id"]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.name}"


class RoutingDecision(models.Model):
    """One routing of one item: where it went (or that it parked), the rule that chose, and every candidate's reason."""

    class Outcome(models.TextChoices):
        ROUTED = "ROUTED", "Routed"
        SPLIT = "SPLIT", "Split across facilities"
        UNROUTED = "UNROUTED", "Parked (no facility)"
        CANCELLED = "CANCELLED", "Cancelled"

    class Trigger(models.TextChoices):
        ORDER_CREATED = "ORDER_CREATED", "Order created"
        REJECTION = "REJECTION", "Rejected"
        ROUTE_ORDERS = "ROUTE_ORDERS", "Route again"
        RECEIPT = "RECEIPT", "Stock received"
        CUSTOMER_CHOICE = "CUSTOMER_CHOICE", "Customer's choice"
        PARKED_TOO_LONG = "PARKED_TOO_LONG", "Parked too long"

    order_item = models.ForeignKey("fulfillment.OrderItem", on_delete=models.CASCADE, related_name="routing_decisions")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    chosen_facility = models.ForeignKey(
        "inventory.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="routing_decisions"
    )
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions")
    rule_name = models.CharField(max_length=120, blank=True, help_text="The rule's name when it decided.")
    summary = models.CharField(max_length=300, help_text="Why, in one sentence.")
    allocations = models.JSONField(default=list, blank=True, help_text='[{"facility": code, "quantity": n}]')
    candidates = models.JSONField(
        default=list,
        blank=True,
        help_text='Facts, not sentences: per listed candidate {"facility": code, "name", "distance_km", "routable_atp", '
        '"chosen", "code", "n": numbers, "rule"}; per group {"group": code, "count", "min_km", "max_km", "routable_atp", '
        '"n", "rule"} (routing/explain.py makes the sentences).',
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="UNROUTED", chosen_facility__isnull=True) | ~Q(outcome="UNROUTED"),
                name="routing_decision_unrouted_has_no_facility",
            ),
        ]
        indexes = [models.Index(fields=["order_item", "created_at"], name="routing_decision_item_idx")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.summary}"

    @property
    def candidate_rows(self) -> list[dict]:
        """The Why-here table: the stored facts made into rows with their sentences (routing/explain.py)."""
        from .explain import candidate_rows

        return candidate_rows(self.candidates)


class FacilityDailyLoad(models.Model):
    """How many order lines were routed to a facility on a (facility-local) day: the daily order limit counts these."""

    facility = models.ForeignKey("inventory.Facility", on_delete=models.CASCADE, related_name="daily_loads")
    day = models.DateField()
    routed_lines = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["facility", "day"], name="facility_daily_load_unique_day")]

    def __str__(self) -> str:
        return f"{self.facility_id} {self.day}: {self.routed_lines}"


class RoutingConfigVersion(models.Model):
    """One row whose `version` changes (database triggers, migration routing/0005) with every change to what routing
    decides by: facilities, facility groups and their members, routing rules. A process keeps that configuration in
    memory while the version it read it at is current (routing/selectors.py: routing_config)."""

    version = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.version
