"""The customer's pickup-choice page: public (no login, no store scope), reached by the signed link in the email.

GET shows the order, the rejected item and three choices; POST applies one through ``pickup_choice_apply``.
A tampered link answers 400, an expired, used or replaced one 410, each with a page that says which and how to
contact the store, and changes nothing. Plain forms: works without JavaScript.
"""

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from fulfillment import selectors, services
from fulfillment.errors import ChoiceClosed, FulfillmentError
from fulfillment.forms import MAX_ID, WholeNumberField
from fulfillment.models import OrderItem, PickupChoice
from fulfillment.pickup_links import LinkExpired, LinkTampered, pickup_choice_id_from
from fulfillment.services.customer_choice import choice_closed_message

PAGE = "fulfillment/pickup_choice.html"
Outcome = PickupChoice.Outcome


class ChoiceForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(Outcome.OTHER_STORE, "store"), (Outcome.SHIP, "ship"), (Outcome.CANCEL, "cancel")],
        error_messages={"required": "Choose one of the options below.", "invalid_choice": "Choose one of the options below."},
    )
    facility = WholeNumberField(required=False, min_value=1, max_value=MAX_ID)  # ASCII digits, as everywhere else
    address = forms.CharField(required=False, max_length=200, strip=True)
    city = forms.CharField(required=False, max_length=80, strip=True)
    postal_code = forms.CharField(required=False, max_length=16, strip=True)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == Outcome.OTHER_STORE and not data.get("facility"):
            self.add_error("facility", "Choose a store.")
        if action == Outcome.SHIP:
            for name, label in (("address", "your street address"), ("city", "your city"), ("postal_code", "your postal code")):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, f"Enter {label}.")
        return data


def _closed(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    context = {"title": title, "message": message, "contact_email": settings.CUSTOMER_SERVICE_EMAIL}
    return render(request, PAGE, {"closed": context}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def pickup_choice(request: HttpRequest, token: str) -> HttpResponse:
    try:
        choice_id = pickup_choice_id_from(token)
    except LinkTampered:
        return _closed(request, "This link is not valid",
                       "The link is incomplete or was changed. Open it again from the email, exactly as it is.", 400)
    except LinkExpired:
        return _closed(request, "This link has expired",
                       f"Links work for {settings.PICKUP_CHOICE_LINK_DAYS} days. Contact the store and we will sort it out.", 410)
    choice = selectors.pickup_choice_for_page(choice_id)
    if choice is None:
        return _closed(request, "This link is not valid", "It does not lead to any item.", 400)
    if not choice.is_waiting:
        return _closed(request, "This link was already used", choice_closed_message(choice), 410)
    item = choice.order_item
    if item.status != OrderItem.Status.UNROUTED:
        return _closed(request, "Your item is already taken care of",
                       f"The store has handled it meanwhile (it is {item.get_status_display().lower()} now). "
                       "Contact the store if you want to change something.", 410)
    form = ChoiceForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.pickup_choice_apply(
                    choice_id=choice.pk, action=data["action"], facility_id=data.get("facility"),
                    address={k: data.get(k, "") for k in ("address", "city", "postal_code")},
                )
            except ChoiceClosed as exc:
                return _closed(request, "Nothing was changed", exc.message, 409)
            except FulfillmentError as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                return render(request, PAGE, {"done": result, "order": item.order})
        else:
            status = 400
    return render(
        request, PAGE,
        {"choice": choice, "item": item, "order": item.order, "stores": selectors.pickup_stores_for(item), "form": form,
         "contact_email": settings.CUSTOMER_SERVICE_EMAIL},
        status=status,
    )
