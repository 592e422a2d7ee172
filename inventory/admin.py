"""Admin for facilities, products, groups, inventory levels and the (read-only) inventory ledger, and the mixins
every app's admin shares.

Quantities of a level never change here: ``fulfillment/admin/stock.py`` adds the "Receive stock" and "Set counted
quantity" actions to ``InventoryLevelAdmin`` (they also route the product's parked items, a fulfillment service, and
``inventory`` must not import ``fulfillment``).
"""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count

from .models import Facility, FacilityGroup, InventoryAdjustment, InventoryLevel, Product


class ReadOnlyAdminMixin:
    """Rows are written by services only: admin may look, never add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DateBoundedChangeList(ChangeList):
    """A date-hierarchy or date filter beyond the calendar (year 99999999999, December of year 9999) is a bad filter
    (the changelist reloads without it and says so), not an OverflowError and a 500."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class DateHierarchyGuardMixin:
    """For every ModelAdmin with a ``date_hierarchy`` or a date ``list_filter``."""

    def get_changelist(self, request, **kwargs):
        return DateBoundedChangeList


class ProductColumnsMixin:
    """The SKU and product name columns of a row that has a product."""

    @admin.display(description="SKU", ordering="product__sku")
    def product_sku(self, obj):
        return obj.product.sku

    @admin.display(description="Product", ordering="product__name")
    def product_name(self, obj):
        return obj.product.name


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = (
        "code", "name", "kind", "is_active", "allows_routing", "allows_pickup", "priority", "safety_stock",
        "daily_order_limit", "latitude", "longitude", "timezone",
    )
    list_display_links = ("code", "name")
    list_filter = ("kind", "is_active", "allows_routing", "allows_pickup")
    search_fields = ("code", "name")
    ordering = ("code",)
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "is_active")}),
        ("Routing", {"fields": ("allows_routing", "allows_pickup", "priority", "safety_stock", "daily_order_limit")}),
        ("Location", {"fields": ("latitude", "longitude", "timezone")}),
        ("Today panel", {"fields": ("waiting_amber_minutes", "waiting_red_minutes")}),
    )

    def has_delete_permission(self, request, obj=None):
        # Facilities carry orders, rejections and ledger rows (PROTECT): deactivate instead.
        return False


@admin.register(FacilityGroup)
class FacilityGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "facility_count")
    search_fields = ("name", "facilities__code")
    filter_horizontal = ("facilities",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_facility_count=Count("facilities", distinct=True))

    @admin.display(description="Facilities", ordering="_facility_count")
    def facility_count(self, obj):
        return obj._facility_count


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "upc")
    list_display_links = ("sku", "name")
    search_fields = ("sku", "name", "upc")
    ordering = ("sku",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InventoryAdjustment)
class InventoryAdjustmentAdmin(DateHierarchyGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only ledger: read-only."""

    list_display = (
        "created_at", "facility_code", "product_sku", "kind", "qoh_delta", "reserved_delta", "unsellable_delta", "atp_delta",
        "reason", "reference", "created_by",
    )
    list_filter = ("kind", "reason", "level__facility", "created_at")
    search_fields = ("level__product__sku", "level__product__name", "level__facility__code", "reference", "reason")
    list_select_related = ("level__facility", "level__product", "created_by")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Facility", ordering="level__facility__code")
    def facility_code(self, obj):
        return obj.level.facility.code

    @admin.display(description="SKU", ordering="level__product__sku")
    def product_sku(self, obj):
        return obj.level.product.sku


def level_line(level: InventoryLevel) -> str:
    return (
        f"{level.facility.code} · {level.product.sku} {level.product.name}: "
        f"QOH {level.quantity_on_hand}, reserved {level.reserved}, unsellable {level.unsellable}, "
        f"ATP {level.available_to_promise}" + (f" (short {level.shortfall})" if level.is_short else "")
    )


class ShortFilter(admin.SimpleListFilter):
    """Short levels hold more reserved units than sellable units on hand."""

    title = "short"
    parameter_name = "short"

    def lookups(self, request, model_admin):
        return [("yes", "Short"), ("no", "Not short")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.short()
        if self.value() == "no":
            return queryset.not_short()
        return queryset


@admin.register(InventoryLevel)
class InventoryLevelAdmin(ProductColumnsMixin, admin.ModelAdmin):
    list_display = (
        "facility_code", "product_sku", "product_name", "quantity_on_hand", "reserved", "unsellable",
        "available_to_promise", "short", "safety_stock", "updated_at",
    )
    list_filter = (ShortFilter, "facility")
    search_fields = ("product__sku", "product__name", "product__upc", "facility__code")
    list_select_related = ("facility", "product")
    autocomplete_fields = ("facility", "product")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # Quantities never change here: "Receive stock" and "Set counted quantity" go through the ledger.
        readonly = ["quantity_on_hand", "reserved", "unsellable", "available_to_promise", "updated_at"]
        if obj is not None:
            readonly += ["facility", "product"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Facility", ordering="facility__code")
    def facility_code(self, obj):
        return obj.facility.code

    @admin.display(description="Short")
    def short(self, obj):
        return f"short {obj.shortfall}" if obj.is_short else ""
