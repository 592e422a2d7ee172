"""Admin for routing rules (editable, orderable) and routing decisions (read-only, with the "Why here?" table)."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from inventory.admin import DateHierarchyGuardMixin, ReadOnlyAdminMixin

from .models import FacilityDailyLoad, RoutingDecision, RoutingRule, ShippingMethod


class RoutingRuleForm(forms.ModelForm):
    shipping_methods = forms.MultipleChoiceField(
        choices=ShippingMethod.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Shipping methods this rule applies to; none ticked = all.",
    )

    class Meta:
        model = RoutingRule
        fields = "__all__"

    def clean_shipping_methods(self):
        chosen = set(self.cleaned_data.get("shipping_methods") or [])
        # Stored as a JSON list in the canonical order of the choices.
        return [code for code in ShippingMethod.values if code in chosen]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = (
        "name", "sequence", "is_active", "methods", "facility_kind", "facility_group", "max_distance_km", "sort",
        "allow_split", "exclude_rejecting_facilities",
    )
    list_display_links = ("name",)
    list_editable = ("sequence", "is_active")
    list_filter = ("is_active", "sort", "facility_kind", "allow_split")
    search_fields = ("name",)
    list_select_related = ("facility_group",)
    ordering = ("sequence", "id")
    autocomplete_fields = ("facility_group",)

    @admin.display(description="Shipping methods")
    def methods(self, obj):
        labels = dict(ShippingMethod.choices)
        return ", ".join(labels.get(m, m) for m in obj.shipping_methods) if obj.shipping_methods else "All"


def candidates_table(decision: RoutingDecision):
    """The decision's candidates as an HTML table: facility, distance, routable ATP, chosen, reason."""
    candidates = decision.candidate_rows
    if not candidates:
        return "No facility was considered."

    def fmt_distance(value):
        return "—" if value is None else f"{float(value):,.1f}"

    # The chosen facility first, then the others in the engine's order.
    candidates = sorted(candidates, key=lambda c: not c.get("chosen"))
    rows = format_html_join(
        "",
        '<tr{}><td>{}</td><td>{}</td><td style="text-align:right">{}</td><td style="text-align:right">{}</td>'
        "<td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                mark_safe(' style="font-weight:bold"') if c.get("chosen") else "",
                c.get("facility", ""),
                c.get("name", ""),
                fmt_distance(c.get("distance_km")),
                "—" if c.get("routable_atp") is None else c.get("routable_atp"),
                "Yes" if c.get("chosen") else "No",
                c.get("reason", ""),
                c.get("rule", ""),
            )
            for c in candidates
        ),
    )
    return format_html(
        '<table class="why-here"><caption>Why here?</caption><thead><tr><th>Facility</th><th>Name</th>'
        "<th>Distance (km)</th><th>Routable ATP</th><th>Chosen</th><th>Reason</th><th>Rule</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(DateHierarchyGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "order_name", "item_sku", "outcome", "trigger", "chosen_facility", "rule_name", "summary")
    list_filter = ("outcome", "trigger", "chosen_facility", "created_at")
    search_fields = ("order_item__order__name", "order_item__product__sku", "summary", "rule_name")
    list_select_related = ("order_item__order", "order_item__product", "chosen_facility")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "order_item_link", "outcome", "trigger", "chosen_facility", "rule", "rule_name", "summary", "allocations",
        "why_here", "created_at",
    )
    readonly_fields = fields


    @admin.display(description="Order", ordering="order_item__order__name")
    def order_name(self, obj):
        return obj.order_item.order.name

    @admin.display(description="SKU", ordering="order_item__product__sku")
    def item_sku(self, obj):
        return obj.order_item.product.sku

    @admin.display(description="Order item")
    def order_item_link(self, obj):
        item = obj.order_item
        return format_html(
            '<a href="{}">{}</a> · {} × {} (item {}, now {})',
            reverse("admin:fulfillment_order_change", args=[item.order_id]), item.order.name, item.quantity,
            item.product.sku, item.pk, item.get_status_display().lower(),
        )

    @admin.display(description="Why here?")
    def why_here(self, obj):
        return candidates_table(obj)


@admin.register(FacilityDailyLoad)
class FacilityDailyLoadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("day", "facility", "routed_lines")
    list_filter = ("day", "facility")
    search_fields = ("facility__code",)
    list_select_related = ("facility",)
    ordering = ("-day", "facility__code")
    readonly_fields = ("facility", "day", "routed_lines")


