"""Rejection reasons (editable), rejections (read-only, Export CSV), rejection policies and Reject All jobs."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from inventory.admin import DateHierarchyGuardMixin, ReadOnlyAdminMixin

from ..models import BulkRejection, Rejection, RejectionPolicy, RejectionReason
from ..reports.csv import csv_response
from ..text import format_counts


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "inventory_effect", "sequence", "is_active", "is_system")
    list_display_links = ("code", "label")
    list_editable = ("sequence", "is_active")
    list_filter = ("is_active", "is_system", "inventory_effect")
    search_fields = ("code", "label")
    ordering = ("sequence", "code")

    def get_readonly_fields(self, request, obj=None):
        # Services and policies look reasons up by code; system reasons are the policies' own.
        if obj is None:
            return ("is_system",)
        return ("code", "is_system")

    def has_delete_permission(self, request, obj=None):
        return False  # rejections keep their reason (PROTECT): deactivate instead


@admin.register(Rejection)
class RejectionAdmin(DateHierarchyGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at", "order_name", "product_sku", "facility", "reason", "quantity", "routed_to", "rejected_by",
        "caused_by_id", "comment",
    )
    list_filter = ("reason", "facility", "routed_to", "created_at")
    search_fields = ("order_item__order__name", "order_item__product__sku", "facility__code", "comment")
    list_select_related = ("order_item__order", "order_item__product", "facility", "reason", "routed_to", "rejected_by")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["export_csv"]
    fields = (
        "order_item_link", "facility", "reason", "quantity", "comment", "rejected_by", "created_at", "routed_to",
        "bulk_rejection", "caused_by",
    )
    readonly_fields = fields

    @admin.display(description="Order", ordering="order_item__order__name")
    def order_name(self, obj):
        return obj.order_item.order.name

    @admin.action(description="Export CSV")
    def export_csv(self, request, queryset):
        """The selected rejections (or all that match the changelist with "select all"), streamed by the report's
        exporter: same columns, ISO 8601 local times, formula cells neutralised."""
        return csv_response(queryset, "rejections.csv")

    @admin.display(description="SKU", ordering="order_item__product__sku")
    def product_sku(self, obj):
        return obj.order_item.product.sku

    @admin.display(description="Order item")
    def order_item_link(self, obj):
        item = obj.order_item
        return format_html(
            '<a href="{}">{}</a> · {} × {} {} (item {}, now {})',
            reverse("admin:fulfillment_order_change", args=[item.order_id]), item.order.name, item.quantity,
            item.product.sku, item.product.name, item.pk, item.get_status_display().lower(),
        )


@admin.register(RejectionPolicy)
class RejectionPolicyAdmin(admin.ModelAdmin):
    list_display = ("scope", "allow_partial_order_rejection", "cascade_not_in_stock")
    list_editable = ("allow_partial_order_rejection", "cascade_not_in_stock")
    list_select_related = ("facility",)
    search_fields = ("facility__code", "facility__name")
    autocomplete_fields = ("facility",)
    ordering = ("facility__code",)

    @admin.display(description="Applies to", ordering="facility__code")
    def scope(self, obj):
        return obj.facility.code if obj.facility_id else "All facilities (global)"

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.facility_id is None:
            return False  # the global policy always exists
        return super().has_delete_permission(request, obj)


@admin.register(BulkRejection)
class BulkRejectionAdmin(DateHierarchyGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at", "facility", "from_status", "reason", "state", "total_orders", "total_items", "rejected_items",
        "rerouted_summary", "parked_items", "skipped_items", "attempts", "heartbeat_at", "requested_by",
    )
    list_filter = ("state", "from_status", "facility", "reason")
    search_fields = ("facility__code",)
    list_select_related = ("facility", "reason", "requested_by")
    date_hierarchy = "created_at"
    exclude = ("item_ids",)  # the job's own work list (thousands of ids); the Rejection rows say what it did

    def get_queryset(self, request):
        return super().get_queryset(request).defer("item_ids")

    @admin.display(description="Re-routed")
    def rerouted_summary(self, obj):
        return f"{obj.rerouted_items} ({format_counts(obj.rerouted)})" if obj.rerouted else "0"
