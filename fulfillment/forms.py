"""The forms of every page (the associate dashboard, the parked-items page, the customer's pickup choice, login) and
of the admin actions: they parse and validate input; the views and actions hand the cleaned data to services."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from fulfillment import selectors
from fulfillment.models import PickupChoice, RejectionReason
from fulfillment.text import MAX_INT32, parse_ascii_integer

SEARCH_MAX_LENGTH = 100
MAX_ID = 2**63 - 1  # the largest primary key any of our databases can hold; larger numbers are not ids


class WholeNumberField(forms.IntegerField):
    """An integer typed with the digits 0-9 only, at most what a database integer column holds.

    Django's ``IntegerField`` reads any script's digits ("١٢" is 12) and underscores; a quantity must be plain digits.
    """

    default_error_messages = {"invalid": "Enter a whole number with the digits 0-9."}

    def __init__(self, *, max_value=MAX_INT32, **kwargs):
        super().__init__(max_value=max_value, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if parse_ascii_integer(str(value)) is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


def _selectable_reasons():
    """The active reasons offered to people, in their configured order (system reasons left out)."""
    return selectors.active_reasons()


class SearchForm(forms.Form):
    q = forms.CharField(label="Search orders", required=False, max_length=SEARCH_MAX_LENGTH, strip=True)

    def cleaned_query(self) -> str:
        return self.cleaned_data.get("q", "") if self.is_valid() else ""


class IntListField(forms.Field):
    """A list of positive integers from repeated form fields (checkboxes ``name=order_ids``)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "invalid": "Choose orders from the list.",
        "required": "Select at least one order first.",
    }

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        try:
            numbers = [parse_ascii_integer(v) for v in value]
            if None in numbers:
                raise ValueError(value)
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if any(not 0 < n <= MAX_ID for n in numbers):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return list(dict.fromkeys(numbers))


class StartPickingForm(forms.Form):
    order_ids = IntListField()


class ReasonChoiceField(forms.ModelChoiceField):
    """A select labelled "Reason" over rejection reasons by code (the form sets the queryset it offers)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Reason")
        kwargs.setdefault("error_messages", {"invalid_choice": "Choose one of the listed reasons."})
        super().__init__(queryset=RejectionReason.objects.none(), to_field_name="code", empty_label=None, **kwargs)

    def label_from_instance(self, obj: RejectionReason) -> str:
        return obj.label


class ReportIssueForm(forms.Form):
    """Report an Issue on one item: the reason, how many units (whole line by default), an optional comment."""

    reason = ReasonChoiceField()
    quantity = WholeNumberField(label="Quantity", min_value=1)
    comment = forms.CharField(
        label="Comment (optional)", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    # What the associate saw: the line's quantity when the form was rendered. A partial rejection lowers it, so a
    # repeated Save (a triple click, or a colleague's form of the same line) no longer matches and changes nothing.
    seen_quantity = WholeNumberField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, item, preview_url: str = "", **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.item = item
        self.fields["reason"].queryset = _selectable_reasons()
        if preview_url:
            # The statement of the inventory effect follows the reason and quantity as they change (HTMX).
            live = {
                "hx-get": preview_url,
                "hx-target": f"#preview-{item.pk}",
                "hx-swap": "outerHTML",
                "hx-include": "closest form",
            }
            self.fields["reason"].widget.attrs.update({**live, "hx-trigger": "change"})
            self.fields["quantity"].widget.attrs.update({**live, "hx-trigger": "input changed delay:300ms, change"})
        self.fields["seen_quantity"].initial = item.quantity
        quantity = self.fields["quantity"]
        quantity.initial = item.quantity
        quantity.widget.attrs.update({"min": 1, "max": item.quantity, "inputmode": "numeric"})
        quantity.validators.append(_max_quantity_validator(item.quantity))
        quantity.help_text = f"Of {item.quantity} on this line." if item.quantity > 1 else ""

    def preview_values(self) -> tuple[RejectionReason | None, int]:
        """Best-effort reason and quantity for the live preview (invalid input falls back to the defaults)."""
        reasons = list(self.fields["reason"].queryset)
        by_code = {r.code: r for r in reasons}
        reason = by_code.get(self.data.get("reason")) if self.is_bound else None
        if reason is None:
            reason = reasons[0] if reasons else None
        try:
            quantity = parse_ascii_integer(str(self.data.get("quantity", self.item.quantity))) if self.is_bound else None
        except TypeError:
            quantity = None
        if quantity is None:
            quantity = self.item.quantity
        quantity = min(max(quantity, 1), self.item.quantity)
        return reason, quantity


def _max_quantity_validator(maximum: int):
    def validate(value):
        if value is not None and value > maximum:
            raise ValidationError(
                "This line has only %(max)d unit(s); enter %(max)d or fewer.", params={"max": maximum}, code="max_value"
            )

    return validate


class RejectAllForm(forms.Form):
    reason = ReasonChoiceField()
    stop_routing = forms.BooleanField(label="Stop routing new orders to this store", required=False)

    DEFAULT_REASON = "INACTIVE_STORE"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = _selectable_reasons()
        self.fields["reason"].initial = self.DEFAULT_REASON


class FacilitySwitchForm(forms.Form):
    facility = forms.TypedChoiceField(label="Store", coerce=int, choices=())

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].choices = [(m.facility_id, m.facility.name) for m in memberships]


class LoginForm(AuthenticationForm):
    """Django's login form, with the username's length checked on the server too.

    ``AuthenticationForm`` only sets the widget's ``maxlength``; a longer username reached ``authenticate()`` and
    django-axes then failed to record the attempt (PostgreSQL: value too long), a 500. Now it is a form error.
    """

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


# --- The parked-items page (operations) ---------------------------------------------------------------------------


class ParkedFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Why parked", required=False,
        choices=[("", "Any reason")] + [(key, label) for key, (label, _) in selectors.PARKED_KINDS.items()],
    )
    product = forms.CharField(label="Product (SKU or name)", required=False, max_length=64, strip=True)

    def filters(self) -> dict[str, str]:
        """The valid filters ({} parts dropped when invalid), as the selector and the URLs take them."""
        if self.is_valid():
            data = self.cleaned_data
            return {"kind": data["kind"], "product": data["product"]}
        data = {}
        for name in ("kind", "product"):
            if name not in self.errors and name in self.cleaned_data:
                data[name] = self.cleaned_data[name]
        return {"kind": data.get("kind", ""), "product": data.get("product", "")}


class RouteForm(forms.Form):
    """Route again: one item (``item_id``) or every item matching the filters (``scope=all``)."""

    item_id = WholeNumberField(required=False, min_value=1, max_value=MAX_ID)
    scope = forms.ChoiceField(required=False, choices=[("", "one"), ("all", "all matching")])

    def clean(self):
        data = super().clean()
        if not data.get("item_id") and data.get("scope") != "all":
            raise forms.ValidationError("Choose an item to route, or route all matching items.")
        return data


# --- The customer's pickup choice (public page) ---------------------------------------------------------------------


class ChoiceForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(PickupChoice.Outcome.OTHER_STORE, "store"), (PickupChoice.Outcome.SHIP, "ship"), (PickupChoice.Outcome.CANCEL, "cancel")],
        error_messages={"required": "Choose one of the options below.", "invalid_choice": "Choose one of the options below."},
    )
    facility = WholeNumberField(required=False, min_value=1, max_value=MAX_ID)  # ASCII digits, as everywhere else
    address = forms.CharField(required=False, max_length=PickupChoice._meta.get_field("ship_to_address").max_length, strip=True)
    city = forms.CharField(required=False, max_length=PickupChoice._meta.get_field("ship_to_city").max_length, strip=True)
    postal_code = forms.CharField(required=False, max_length=PickupChoice._meta.get_field("ship_to_postal_code").max_length, strip=True)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == PickupChoice.Outcome.OTHER_STORE and not data.get("facility"):
            self.add_error("facility", "Choose a store.")
        if action == PickupChoice.Outcome.SHIP:
            for name, label in (("address", "your street address"), ("city", "your city"), ("postal_code", "your postal code")):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, f"Enter {label}.")
        return data


# --- Admin actions --------------------------------------------------------------------------------------------------


class ReceiveForm(forms.Form):
    quantity = WholeNumberField(
        min_value=1, label="Quantity received", help_text="Units received at each selected level (added to QOH and ATP)."
    )


class CountForm(forms.Form):
    quantity = WholeNumberField(
        min_value=0, label="Counted quantity on hand",
        help_text="The QOH counted on the shelf; reservations stay reserved and ATP follows.",
    )


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
