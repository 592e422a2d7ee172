"""Orders (contact details only) and their items (Reject selected items, Route selected unrouted items)."""

from django.contrib import admin, messages
from django.db.models import Count, Q

from inventory.admin import DateHierarchyGuardMixin, ProductColumnsMixin, ReadOnlyAdminMixin
from routing.models import RoutingDecision

from .. import services
from ..forms import RejectItemsForm
from ..models import Order, OrderItem
from ..text import items_reject_summary_text, route_summary_text
from .actions import render_action_form


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    fk_name = "order"
    fields = ("product", "quantity", "facility", "status", "parked_reason", "status_changed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "facility")


@admin.register(Order)
class OrderAdmin(DateHierarchyGuardMixin, admin.ModelAdmin):
    list_display = (
        "name", "customer_name", "shipping_method", "pickup_facility", "placed_at", "item_count", "open_count",
        "in_progress_count", "completed_count", "parked_count",
    )
    list_filter = ("shipping_method", "pickup_facility", "items__status", "placed_at")
    search_fields = ("name", "customer_name", "customer_email", "items__product__sku")
    list_select_related = ("pickup_facility",)
    date_hierarchy = "placed_at"
    inlines = (OrderItemInline,)
    show_full_result_count = False
    # Orders are created (and routed) by `order_create` — the import and seed commands; here only contact details change.
    readonly_fields = (
        "name", "shipping_method", "ship_to_latitude", "ship_to_longitude", "pickup_facility", "placed_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "placed_at", "shipping_method", "pickup_facility")}),
        ("Customer", {"fields": ("customer_name", "customer_email")}),
        ("Ship to", {"fields": (
            "ship_to_address", "ship_to_city", "ship_to_postal_code", "ship_to_latitude", "ship_to_longitude",
        )}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _items=Count("items", distinct=True),
            _open=Count("items", filter=Q(items__status=OrderItem.Status.OPEN), distinct=True),
            _in_progress=Count("items", filter=Q(items__status=OrderItem.Status.IN_PROGRESS), distinct=True),
            _completed=Count("items", filter=Q(items__status=OrderItem.Status.COMPLETED), distinct=True),
            _parked=Count("items", filter=Q(items__status=OrderItem.Status.UNROUTED), distinct=True),
        )

    @admin.display(description="Items", ordering="_items")
    def item_count(self, obj):
        return obj._items

    @admin.display(description="Open", ordering="_open")
    def open_count(self, obj):
        return obj._open

    @admin.display(description="In progress", ordering="_in_progress")
    def in_progress_count(self, obj):
        return obj._in_progress

    @admin.display(description="Completed", ordering="_completed")
    def completed_count(self, obj):
        return obj._completed

    @admin.display(description="Parked", ordering="_parked")
    def parked_count(self, obj):
        return obj._parked


def item_line(item: OrderItem) -> str:
    where = item.facility.code if item.facility_id else "no facility"
    return (
        f"{item.order.name} · {item.quantity} × {item.product.sku} {item.product.name} — "
        f"{item.get_status_display()} at {where}"
    )


@admin.register(OrderItem)
class OrderItemAdmin(ProductColumnsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "order_name", "product_sku", "product_name", "quantity", "facility", "status", "parked_reason", "status_changed_at",
    )
    list_filter = ("status", "facility", "order__shipping_method")
    search_fields = ("order__name", "order__customer_name", "product__sku", "product__name", "product__upc")
    list_select_related = ("order", "product", "facility")
    raw_id_fields = ("order", "product", "facility", "split_from")
    readonly_fields = (
        "order", "product", "quantity", "facility", "status", "parked_reason", "split_from", "status_changed_at",
        "parked_since", "shipping_method", "pickup_facility",
    )
    actions = ("reject_selected", "route_selected")
    show_full_result_count = False

    @admin.display(description="Order", ordering="order__name")
    def order_name(self, obj):
        return obj.order.name


    def has_fulfil_permission(self, request):
        return request.user.has_perm("fulfillment.change_orderitem")

    @admin.action(description="Reject selected items", permissions=["fulfil"])
    def reject_selected(self, request, queryset):
        queryset = queryset.select_related("order", "product", "facility").order_by("order__placed_at", "order_id", "id")
        form = RejectItemsForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]
            summary = services.items_reject(
                item_ids=list(queryset.values_list("pk", flat=True)), reason_code=reason.code,
                comment=form.cleaned_data["comment"], user=request.user,
            )
            if summary.rejected:
                self.message_user(request, items_reject_summary_text(summary, reason_label=reason.label), messages.SUCCESS)
            if summary.skipped:
                self.message_user(
                    request, f"Skipped {len(summary.skipped)} item(s): " + "; ".join(summary.skipped), messages.WARNING
                )
            if not (summary.rejected or summary.skipped):
                self.message_user(request, "Nothing was rejected.", messages.WARNING)
            return None
        return render_action_form(
            self, request, queryset, form=form, title="Reject selected items", submit_label="Reject",
            intro="Each item is rejected at the facility it is at now, the reason's inventory effect is applied there, and "
            "the item is re-routed at once (or parked when no facility can take it).",
            describe=item_line,
        )

    @admin.action(description="Route selected unrouted items", permissions=["fulfil"])
    def route_selected(self, request, queryset):
        ids = list(queryset.values_list("id", "status"))
        parked_ids = [pk for pk, status in ids if status == OrderItem.Status.UNROUTED]
        skipped = len(ids) - len(parked_ids)
        if not parked_ids:
            self.message_user(request, "None of the selected items is parked (unrouted); nothing to route.", messages.WARNING)
            return None
        summary = services.items_route(item_ids=parked_ids, trigger=RoutingDecision.Trigger.ROUTE_ORDERS)
        message = route_summary_text(summary)
        if skipped:
            message += f" Skipped {skipped} item(s) that were not parked."
        self.message_user(request, message, messages.SUCCESS if summary.routed else messages.WARNING)
        return None
