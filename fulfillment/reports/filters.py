"""The report's filters (django-filter): a GET form, so a report's URL can be shared.

The FilterSet filters the rejection rows; ``selection()`` hands the same cleaned choices to the figures that are not
rejection rows (units routed, units completed). Stores are limited to the user's scope, so a tampered ``store=`` is
a form error, never another store's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from fulfillment.models import Rejection, RejectionReason, ShippingMethod
from fulfillment.validators import AHEAD, EARLIEST
from inventory.models import Facility

from .periods import period_q, zone_of

DEFAULT_DAYS = 28
MAX_DAYS = 731


@dataclass(frozen=True)
class Selection:
    """What the report is about: the stores (already scoped), the local dates, and the other filters."""

    facilities: tuple[Facility, ...]
    date_from: date
    date_to: date
    reason: RejectionReason | None = None
    product: str = ""
    shipping_method: str = ""
    associate: int | None = None

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1


def product_q(text: str, prefix: str = "") -> Q:
    """SKU, UPC or product name containing ``text``."""
    return Q(**{f"{prefix}sku__icontains": text}) | Q(**{f"{prefix}upc__icontains": text}) | Q(**{f"{prefix}name__icontains": text})


class IdFilter(django_filters.NumberFilter):
    """A positive integer id (a too large or non-integer value is a form error, not a database error)."""

    field_class = forms.IntegerField


class DateInput(forms.DateInput):
    input_type = "date"


class RejectionFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(label="From", method="filter_period", widget=DateInput)
    date_to = django_filters.DateFilter(label="To", method="filter_period", widget=DateInput)
    store = django_filters.ModelChoiceFilter(
        label="Store", field_name="facility", queryset=Facility.objects.none(), empty_label="All my stores"
    )
    reason = django_filters.ModelChoiceFilter(
        label="Reason", field_name="reason", queryset=RejectionReason.objects.order_by("sequence", "code"),
        empty_label="All reasons",
    )
    product = django_filters.CharFilter(label="Product", method="filter_product", max_length=100)
    shipping_method = django_filters.ChoiceFilter(
        label="Shipping method", field_name="order_item__order__shipping_method", choices=ShippingMethod.choices,
        empty_label="All methods",
    )
    associate = IdFilter(
        label="Associate", field_name="rejected_by_id", widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1
    )

    class Meta:
        model = Rejection
        fields: list[str] = []

    def __init__(self, data=None, *, facilities, **kwargs):
        self.scope = list(facilities)
        data = data.copy() if data is not None else {}
        today = timezone.now().astimezone(zone_of(self.scope[0].timezone if self.scope else "UTC")).date()
        if not data.get("date_to"):
            data["date_to"] = today.isoformat()
        if not data.get("date_from"):
            try:
                start = date.fromisoformat(data["date_to"]) - timedelta(days=DEFAULT_DAYS - 1)
            except (ValueError, OverflowError):  # not a date, or 0001-01-01: the To field says why
                start = today - timedelta(days=DEFAULT_DAYS - 1)
            data["date_from"] = start.isoformat()
        super().__init__(data, queryset=Rejection.objects.filter(facility__in=[f.pk for f in self.scope]), **kwargs)
        self.filters["store"].queryset = Facility.objects.filter(pk__in=[f.pk for f in self.scope]).order_by("code")
        self.form.fields["store"].queryset = self.filters["store"].queryset
        self.form.clean = self._clean_period

    def _clean_period(self):
        cleaned = forms.Form.clean(self.form)
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        for name, day in (("date_from", start), ("date_to", end)):
            if day and not EARLIEST.date() <= day <= (timezone.now() + AHEAD).date():
                self.form.add_error(name, "Choose a date between 2000-01-01 and a year from now.")
                start = end = None
        if start and end:
            if start > end:
                self.form.add_error("date_to", "To must be on or after From.")
            elif (end - start).days + 1 > MAX_DAYS:
                self.form.add_error("date_from", f"Choose at most {MAX_DAYS} days.")
        return cleaned

    def filter_period(self, queryset, name, value):
        return queryset  # applied once for both dates, per time zone, in filter_queryset

    def filter_product(self, queryset, name, value):
        return queryset.filter(product_q(value.strip(), "order_item__product__")) if value.strip() else queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        selection = self.selection()
        return queryset.filter(
            period_q(selection.facilities, selection.date_from, selection.date_to, facility_field="facility_id", time_field="created_at")
        )

    def selection(self) -> Selection:
        """The cleaned choices (call after ``is_valid()``)."""
        data = self.form.cleaned_data
        store = data.get("store")
        facilities = tuple(f for f in self.scope if store is None or f.pk == store.pk)
        return Selection(
            facilities=facilities,
            date_from=data["date_from"],
            date_to=data["date_to"],
            reason=data.get("reason"),
            product=(data.get("product") or "").strip(),
            shipping_method=data.get("shipping_method") or "",
            associate=int(data["associate"]) if data.get("associate") is not None else None,
        )
