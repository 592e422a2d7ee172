"""Admin for orders, items, rejections and who works where — plus `InventoryLevel`, whose actions call fulfillment
services (receiving stock routes parked items), which `inventory/admin.py` may not import.

Admin actions are thin: they ask for input on an intermediate page (`templates/admin/action_form.html`), call the same
services as the associate pages and the commands, and report what happened with `message_user`.
"""


from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html

from inventory.admin import DateHierarchyGuardMixin, ReadOnlyAdminMixin
from inventory.models import InventoryLevel
from routing.models import RoutingDecision

from . import selectors, services
from .forms import WholeNumberField
from .models import (
    BulkRejection,
    FacilityMembership,
    Notification,
    Order,
    OrderItem,
    ParkedItemPolicy,
    PickupChoice,
    Rejection,
    RejectionPolicy,
    RejectionReason,
    RoutedUnitsDaily,
)
from .reports.csv import csv_response
from .text import format_counts, items_reject_summary_text, route_summary_text


MAX_LISTED = 100  # selected objects named on an intermediate page


def render_action_form(modeladmin, request, queryset, *, form, title, submit_label, intro="", describe=str):
    """The intermediate page of an action: the selected objects, the form, and the hidden fields that re-post the action."""
    opts = modeladmin.model._meta
    objects = list(queryset)
    lines = [describe(o) for o in objects[:MAX_LISTED]]
    if len(objects) > MAX_LISTED:
        lines.append(f"… and {len(objects) - MAX_LISTED} more")
    in_change_form = f"{ActionLocation.CHANGE_FORM.value}-action" in request.POST
    action_field = f"{ActionLocation.CHANGE_FORM.value}-action" if in_change_form else "action"
    if in_change_form and objects:
        cancel_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[objects[0].pk])
    else:
        cancel_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "intro": intro,
        "objects": objects,
        "object_lines": lines,
        "form": form,
        "action": request.POST.get(action_field, ""),
        "action_field": action_field,
        "submit_label": submit_label,
        "cancel_url": cancel_url,
    }
    return render(request, "admin/action_form.html", context)


class ProductColumnsMixin:
    """The SKU and product name columns of a row that has a product."""

    @admin.display(description="SKU", ordering="product__sku")
    def product_sku(self, obj):
        return obj.product.sku

    @admin.display(description="Product", ordering="product__name")
    def product_name(self, obj):
        return obj.product.name


# --------------------------------------------------------------------------------------------------------------------
# Inventory levels: quantities change only through the ledger services.


class ReceiveForm(forms.Form):
    quantity = WholeNumberField(
        min_value=1, label="Quantity received", help_text="Units received at each selected level (added to QOH and ATP)."
    )


class CountForm(forms.Form):
    quantity = WholeNumberField(
        min_value=0, label="Counted quantity on hand",
        help_text="The QOH counted on the shelf; reservations stay reserved and ATP follows.",
    )


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
    actions = ("receive_stock", "set_counted_quantity")
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

    def has_stock_permission(self, request):
        return request.user.has_perm("inventory.change_inventorylevel")

    @admin.action(
        description="Receive stock",
        permissions=["stock"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def receive_stock(self, request, queryset):
        queryset = queryset.select_related("facility", "product")
        form = ReceiveForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            quantity = form.cleaned_data["quantity"]
            levels = list(queryset)
            summary = services.stock_receipts_record(
                receipts=[(level.facility, level.product, quantity) for level in levels], user=request.user,
                reference="admin: receive stock",
            )
            message = f"Received {quantity} unit(s) at {len(levels)} level(s)."
            if summary.routed or summary.parked:
                message += " " + route_summary_text(summary)
            self.message_user(request, message, messages.SUCCESS)
            return None
        return render_action_form(
            self, request, queryset, form=form, title="Receive stock", submit_label="Receive",
            intro="Adds the quantity to QOH of each level (ATP follows), writes a RECEIPT ledger row, and routes the product's "
            "parked items at once.",
            describe=level_line,
        )

    @admin.action(
        description="Set counted quantity",
        permissions=["stock"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def set_counted_quantity(self, request, queryset):
        queryset = queryset.select_related("facility", "product")
        form = CountForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            quantity = form.cleaned_data["quantity"]
            levels = list(queryset)
            before = {level.pk: level.quantity_on_hand for level in levels}
            summary = services.stock_counts_set(
                counts=[(level.facility, level.product, quantity) for level in levels], user=request.user,
                reference="admin: counted quantity",
            )
            changes = [f"{level.facility.code} {level.product.sku} {before[level.pk]} -> {quantity}" for level in levels]
            message = f"Counted quantity set at {len(levels)} level(s): " + "; ".join(changes) + "."
            if summary.routed or summary.parked:
                message += " " + route_summary_text(summary)
            self.message_user(request, message, messages.SUCCESS)
            return None
        return render_action_form(
            self, request, queryset, form=form, title="Set counted quantity", submit_label="Set quantity",
            intro="Sets QOH to the counted quantity through a COUNT ledger row (reserved units stay reserved); parked items of the product are routed "
            "again afterwards.",
            describe=level_line,
        )


# --------------------------------------------------------------------------------------------------------------------
# Orders and items


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


class RejectItemsForm(forms.Form):
    reason = forms.ModelChoiceField(
        queryset=RejectionReason.objects.none(), label="Reason", empty_label=None,
        help_text="Applied at each item's current facility, with the reason's inventory effect.",
    )
    comment = forms.CharField(required=False, max_length=500, label="Comment", widget=forms.TextInput(attrs={"size": 60}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = selectors.active_reasons()
        self.fields["reason"].label_from_instance = lambda r: f"{r.label} ({r.code}: {r.get_inventory_effect_display()})"


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


# --------------------------------------------------------------------------------------------------------------------
# Reasons, rejections, policies, bulk rejections, memberships


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


@admin.register(FacilityMembership)
class FacilityMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "facility", "role")
    list_filter = ("role", "facility")
    search_fields = ("user__username", "user__email", "facility__code", "facility__name")
    list_select_related = ("user", "facility")
    autocomplete_fields = ("user", "facility")


@admin.register(ParkedItemPolicy)
class ParkedItemPolicyAdmin(admin.ModelAdmin):
    list_display = ("scope", "cancel_after_days")
    list_editable = ("cancel_after_days",)
    list_select_related = ("facility_group",)
    search_fields = ("facility_group__name",)
    ordering = ("facility_group__name",)

    @admin.display(description="Applies to", ordering="facility_group__name")
    def scope(self, obj):
        return obj.facility_group.name if obj.facility_group_id else "All facilities (global)"


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


@admin.register(RoutedUnitsDaily)
class RoutedUnitsDailyAdmin(DateHierarchyGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The rejection rate's denominator, kept by the routing transactions: read-only."""

    list_display = ("day", "facility", "product", "shipping_method", "units")
    list_filter = ("shipping_method", "facility")
    search_fields = ("facility__code", "product__sku")
    list_select_related = ("facility", "product")
    date_hierarchy = "day"
    show_full_result_count = False


# django-axes' admin (failed logins; deleting an access attempt unlocks that login), with the same date-filter guard.
def _guard_axes_admin() -> None:
    from axes import admin as axes_admin
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model, model_admin in (
        (AccessAttempt, axes_admin.AccessAttemptAdmin),
        (AccessLog, axes_admin.AccessLogAdmin),
        (AccessFailureLog, axes_admin.AccessFailureLogAdmin),
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
            admin.site.register(model, type(model_admin.__name__, (DateHierarchyGuardMixin, model_admin), {}))


_guard_axes_admin()
