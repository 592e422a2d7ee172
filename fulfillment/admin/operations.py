"""Who works where, how long parked items may wait, and the reports' routed-units roll-up (read-only)."""

from django.contrib import admin

from inventory.admin import DateHierarchyGuardMixin, ReadOnlyAdminMixin

from ..models import FacilityMembership, ParkedItemPolicy, RoutedUnitsDaily


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


@admin.register(RoutedUnitsDaily)
class RoutedUnitsDailyAdmin(DateHierarchyGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The rejection rate's denominator, kept by the routing transactions: read-only."""

    list_display = ("day", "facility", "product", "shipping_method", "units")
    list_filter = ("shipping_method", "facility")
    search_fields = ("facility__code", "product__sku")
    list_select_related = ("facility", "product")
    date_hierarchy = "day"
    show_full_result_count = False
