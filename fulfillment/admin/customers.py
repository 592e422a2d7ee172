"""What the customers were asked and told: pickup choices and every email (read-only history)."""

from django.contrib import admin

from inventory.admin import DateHierarchyGuardMixin, ReadOnlyAdminMixin

from ..models import Notification, PickupChoice


@admin.register(PickupChoice)
class PickupChoiceAdmin(DateHierarchyGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the customer makes the choice on the public page (the link itself is in the email only)."""

    list_display = ("created_at", "order_name", "product_sku", "outcome_or_waiting", "chosen_facility", "expires_at", "used_at")
    list_filter = ("outcome", "created_at")
    search_fields = ("order_item__order__name", "order_item__product__sku")
    list_select_related = ("order_item__order", "order_item__product", "chosen_facility")
    date_hierarchy = "created_at"
    fields = (
        "order_item", "rejection", "created_at", "expires_at", "used_at", "outcome", "chosen_facility",
        "ship_to_address", "ship_to_city", "ship_to_postal_code",
    )
    readonly_fields = fields

    @admin.display(description="Order", ordering="order_item__order__name")
    def order_name(self, obj):
        return obj.order_item.order.name

    @admin.display(description="SKU", ordering="order_item__product__sku")
    def product_sku(self, obj):
        return obj.order_item.product.sku

    @admin.display(description="Outcome", ordering="outcome")
    def outcome_or_waiting(self, obj):
        return obj.get_outcome_display() or "Waiting for the customer"


@admin.register(Notification)
class NotificationAdmin(DateHierarchyGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every email the system sent or tried to send: read-only history."""

    list_display = ("created_at", "kind", "order", "recipient", "status", "attempts", "sent_at", "error")
    list_filter = ("kind", "status", "created_at")
    search_fields = ("recipient", "order__name", "subject")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
    fields = (
        "kind", "order", "order_item", "recipient", "subject", "status", "attempts", "error", "created_at", "sent_at",
        "digest_date",
    )
    readonly_fields = fields
