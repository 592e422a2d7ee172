"""Facilities, products and their inventory, with an append-only ledger of every change."""

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from . import effects
from .validators import validate_single_line


@lru_cache(maxsize=256)
def time_zone(name: str) -> ZoneInfo:
    """The zone named ``name``; an empty or unknown name is UTC, so a page or a routing never fails on it."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Facility(models.Model):
    class Kind(models.TextChoices):
        STORE = "STORE", "Store"
        WAREHOUSE = "WAREHOUSE", "Warehouse"

    code = models.CharField(max_length=32, unique=True, help_text="Short unique code, e.g. BROOKLYN.")
    name = models.CharField(max_length=120, validators=[validate_single_line])
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STORE)
    latitude = models.FloatField()
    longitude = models.FloatField()
    timezone = models.CharField(max_length=64, default="America/New_York", help_text="IANA time zone; times are shown in it.")
    is_active = models.BooleanField(default=True)
    allows_routing = models.BooleanField(default=True, help_text="New orders may be routed here.")
    allows_pickup = models.BooleanField(default=False, help_text="Customers may pick orders up here.")
    priority = models.PositiveIntegerField(default=100, help_text="Custom sequence: lower comes first.")
    safety_stock = models.PositiveIntegerField(
        default=0, help_text="Units of every product held back from routing (overridable per product on its level)."
    )
    daily_order_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most order lines routed here per day (facility local date); empty = no limit."
    )
    waiting_amber_minutes = models.PositiveIntegerField(
        default=120, help_text="Today panel: the oldest open order turns amber when it has waited this long (minutes)."
    )
    waiting_red_minutes = models.PositiveIntegerField(
        default=240, help_text="Today panel: the oldest open order turns red when it has waited this long (minutes)."
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "facilities"
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="facility_latitude_range"),
            models.CheckConstraint(condition=Q(longitude__gte=-180, longitude__lte=180), name="facility_longitude_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def zone(self) -> ZoneInfo:
        """The facility's time zone (UTC when its name is unknown)."""
        return time_zone(self.timezone)

    def local_date(self, at: datetime | None = None) -> date:
        """The facility's local day at ``at`` (now): its daily routing limit and its Today panel count by it."""
        return (at or timezone.now()).astimezone(self.zone).date()


class FacilityGroup(models.Model):
    """A named set of facilities that a routing rule can be limited to."""

    name = models.CharField(max_length=80, unique=True, validators=[validate_single_line])
    facilities = models.ManyToManyField(Facility, related_name="groups", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, validators=[validate_single_line])
    upc = models.CharField(max_length=32, blank=True, db_index=True, help_text="Barcode (optional).")

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class InventoryLevelQuerySet(models.QuerySet):
    SHORT = Q(reserved__gt=F("quantity_on_hand") - F("unsellable"))

    def short(self) -> "InventoryLevelQuerySet":
        """Levels holding more reserved units than sellable units on hand (``InventoryLevel.is_short``)."""
        return self.filter(self.SHORT)

    def not_short(self) -> "InventoryLevelQuerySet":
        return self.exclude(self.SHORT)


class InventoryLevel(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="inventory_levels")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="inventory_levels")
    quantity_on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0, help_text="Units promised to the open and in-progress items here.")
    unsellable = models.IntegerField(default=0, help_text="Units on hand that cannot be sold (damaged, worn display).")
    available_to_promise = models.IntegerField(
        default=0, help_text="Always max(0, on hand - reserved - unsellable); stored for reads."
    )
    safety_stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the facility's safety stock for this product; empty = facility's."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = InventoryLevelQuerySet.as_manager()

    class Meta:
        ordering = ["facility__code", "product__sku"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "product"], name="inventory_level_unique_facility_product"),
            models.CheckConstraint(condition=Q(available_to_promise__gte=0), name="inventory_level_atp_not_negative"),
            models.CheckConstraint(
                condition=Q(available_to_promise__lte=F("quantity_on_hand")), name="inventory_level_atp_within_qoh"
            ),
            models.CheckConstraint(condition=Q(quantity_on_hand__gte=0), name="inventory_level_qoh_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inventory_level_reserved_not_negative"),
            models.CheckConstraint(condition=Q(unsellable__gte=0), name="inventory_level_unsellable_not_negative"),
            models.CheckConstraint(
                condition=Q(unsellable__lte=F("quantity_on_hand")), name="inventory_level_unsellable_within_qoh"
            ),
            models.CheckConstraint(
                condition=Q(
                    available_to_promise=Greatest(Value(0), F("quantity_on_hand") - F("reserved") - F("unsellable"))
                ),
                name="inventory_level_atp_formula",
            ),
        ]
        indexes = [
            models.Index(fields=["product", "facility"], name="inventory_level_product_idx"),
            # The routing candidate query (routing/candidates.py) reads a product's levels from this index alone
            # (an index-only scan: a product's levels sit on a few index pages, not one heap page each).
            models.Index(
                fields=["product"], include=["facility", "available_to_promise", "safety_stock", "id"],
                name="inventory_level_routing_idx",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.product_id}@{self.facility_id}: QOH {self.quantity_on_hand}, reserved {self.reserved}, "
            f"unsellable {self.unsellable}, ATP {self.available_to_promise}"
        )

    @property
    def shortfall(self) -> int:
        """Reserved units beyond the sellable units on hand (> 0: the level is short)."""
        return effects.shortfall(quantity_on_hand=self.quantity_on_hand, reserved=self.reserved, unsellable=self.unsellable)

    @property
    def is_short(self) -> bool:
        return self.shortfall > 0


class InventoryAdjustment(models.Model):
    """Append-only ledger: one row per change of a level; for every level the sums of the QOH, reserved, unsellable
    and ATP deltas equal its stored quantities."""

    class Kind(models.TextChoices):
        RECEIPT = "RECEIPT", "Receipt"
        RESERVE = "RESERVE", "Reserve"
        RELEASE = "RELEASE", "Release"
        REJECTION = "REJECTION", "Rejection"
        COUNT = "COUNT", "Count"
        FULFILL = "FULFILL", "Fulfil (shipped)"
        FOUND = "FOUND", "Found (shipped more than was counted)"
        CORRECTION = "CORRECTION", "Correction (data migration)"

    level = models.ForeignKey(InventoryLevel, on_delete=models.PROTECT, related_name="adjustments")
    atp_delta = models.IntegerField(default=0)
    qoh_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    unsellable_delta = models.IntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.CharField(max_length=40, blank=True, help_text="Rejection reason code when a rejection caused it.")
    reference = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["level", "created_at"], name="inventory_adjustment_level_idx")]

    def __str__(self) -> str:
        return (
            f"{self.kind} QOH {self.qoh_delta:+d} reserved {self.reserved_delta:+d} "
            f"unsellable {self.unsellable_delta:+d} ATP {self.atp_delta:+d}"
        )
