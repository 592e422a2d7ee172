"""Stock actions on the inventory app's levels: "Receive stock" and "Set counted quantity".

``inventory/admin.py`` administers ``InventoryLevel`` (read-only quantities); the two actions are added here because
they call fulfillment services (a receipt or a count also routes the product's parked items), which the inventory
app may not import. Both are one action shape: ask for a quantity, apply it at every selected level through the
ledger, report what changed and what was routed.
"""

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation

from inventory.admin import InventoryLevelAdmin, level_line
from inventory.models import InventoryLevel

from .. import services
from ..forms import CountForm, ReceiveForm
from ..text import route_summary_text
from .actions import render_action_form


class InventoryLevelStockAdmin(InventoryLevelAdmin):
    actions = ("receive_stock", "set_counted_quantity")

    def has_stock_permission(self, request):
        return request.user.has_perm("inventory.change_inventorylevel")

    def _stock_change(self, request, queryset, *, form_class, title, submit_label, intro, apply):
        """Ask for a quantity; then ``apply(levels, quantity, user) -> (message, route summary)`` and report it."""
        queryset = queryset.select_related("facility", "product")
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            message, summary = apply(list(queryset), form.cleaned_data["quantity"], request.user)
            if summary.routed or summary.parked:
                message += " " + route_summary_text(summary)
            self.message_user(request, message, messages.SUCCESS)
            return None
        return render_action_form(
            self, request, queryset, form=form, title=title, submit_label=submit_label, intro=intro, describe=level_line,
        )

    @admin.action(
        description="Receive stock",
        permissions=["stock"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def receive_stock(self, request, queryset):
        def apply(levels, quantity, user):
            summary = services.stock_receipts_record(
                receipts=[(level.facility, level.product, quantity) for level in levels], user=user,
                reference="admin: receive stock",
            )
            return f"Received {quantity} unit(s) at {len(levels)} level(s).", summary

        return self._stock_change(
            request, queryset, form_class=ReceiveForm, title="Receive stock", submit_label="Receive", apply=apply,
            intro="Adds the quantity to QOH of each level (ATP follows), writes a RECEIPT ledger row, and routes the product's "
            "parked items at once.",
        )

    @admin.action(
        description="Set counted quantity",
        permissions=["stock"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def set_counted_quantity(self, request, queryset):
        def apply(levels, quantity, user):
            before = {level.pk: level.quantity_on_hand for level in levels}
            summary = services.stock_counts_set(
                counts=[(level.facility, level.product, quantity) for level in levels], user=user,
                reference="admin: counted quantity",
            )
            changes = [f"{level.facility.code} {level.product.sku} {before[level.pk]} -> {quantity}" for level in levels]
            return f"Counted quantity set at {len(levels)} level(s): " + "; ".join(changes) + ".", summary

        return self._stock_change(
            request, queryset, form_class=CountForm, title="Set counted quantity", submit_label="Set quantity", apply=apply,
            intro="Sets QOH to the counted quantity through a COUNT ledger row (reserved units stay reserved); parked items of the product are routed "
            "again afterwards.",
        )


admin.site.unregister(InventoryLevel)  # registered by inventory/admin.py, imported above
admin.site.register(InventoryLevel, InventoryLevelStockAdmin)
