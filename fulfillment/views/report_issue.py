"""Report an Issue: the reason form with its effect preview ("Before you save"), and the rejection it saves."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from fulfillment import selectors, services
from fulfillment.errors import AlreadyDone, FulfillmentError, ItemConflict
from fulfillment.forms import ReportIssueForm
from fulfillment.models import OrderItem
from fulfillment.permissions import facility_required
from inventory.selectors import rejection_effect_preview

from .common import PAGE, TABS, fragments, is_htmx, oob_tabs_and_messages, tabs, with_item_urls

REPORT_PAGE = "fulfillment/report_issue.html"
GONE_MESSAGE = "This item is no longer open at this store: someone already rejected, moved or completed it."


def _item_or_404(request: HttpRequest, item_id: int) -> OrderItem:
    item = selectors.dashboard_item(facility=request.facility, item_id=item_id)
    if item is None:
        raise Http404("No such item at this store.")
    return item


def _is_workable_here(request: HttpRequest, item: OrderItem) -> bool:
    return item.facility_id == request.facility.pk and item.status in OrderItem.REJECTABLE


def _report_form(request: HttpRequest, item: OrderItem, data=None) -> ReportIssueForm:
    return ReportIssueForm(
        data,
        item=item,
        auto_id=f"id_%s_{item.pk}",
        preview_url=reverse("item-report-preview", args=[item.pk]),
    )


def _preview_context(request: HttpRequest, item: OrderItem, form: ReportIssueForm) -> dict:
    reason, quantity = form.preview_values()
    level = selectors.dashboard_inventory_level(facility=request.facility, product=item.product)
    preview = None
    consequences: list[str] = []
    shortness = ""
    rest_stays = quantity < item.quantity
    if reason is not None:
        policy = selectors.rejection_policy_for(request.facility)
        preview = rejection_effect_preview(
            quantity_on_hand=level.quantity_on_hand if level else 0,
            reserved=level.reserved if level else quantity,
            unsellable=level.unsellable if level else 0,
            quantity=quantity,
            effect=reason.inventory_effect,
        )
        plan = selectors.dashboard_rejection_plan(item=item, reason_code=reason.code, policy=policy, quantity=quantity)
        consequences = plan.sentences()
        shortness = selectors.dashboard_shortness_consequence(
            item=item, reason_code=reason.code, policy=policy, after=preview.after
        )
        rest_stays = plan.units_staying > 0
    return {
        "item": item,
        "facility": request.facility,
        "reason": reason,
        "quantity": quantity,
        "preview": preview,
        "consequences": consequences,
        "shortness": shortness,
        "splits": rest_stays,
        "remaining": item.quantity - quantity,
    }


def _gone_notice(request: HttpRequest, item: OrderItem, message: str, status: int) -> HttpResponse:
    """The item cannot be worked here any more: its row says why (HTMX), or a message on the page."""
    if is_htmx(request):
        parts = [(f"{PAGE}#item-gone", {"item": item, "message": message})]
        parts += oob_tabs_and_messages(request, None)
        return fragments(
            request, parts, status=status, headers={"HX-Retarget": f"#item-{item.pk}", "HX-Reswap": "outerHTML"}
        )
    if request.method == "POST":  # a losing Save: the page says so, with the conflict's status (a success is a 302)
        context = {"item": item, "gone": message, "status": item.status, "back_url": reverse("orders-open")}
        return render(request, REPORT_PAGE, {**context, "tabs": tabs(request.facility, None)}, status=status)
    messages.error(request, message)
    return redirect("orders-open")


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@facility_required
def item_report(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item_or_404(request, item_id)
    if not _is_workable_here(request, item):
        return _gone_notice(request, item, GONE_MESSAGE, 409)
    prior_status = item.status
    form = _report_form(request, item, request.POST if request.method == "POST" else None)
    status_code = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.item_reject(
                    facility=request.facility,
                    item_id=item.pk,
                    reason=form.cleaned_data["reason"],
                    quantity=form.cleaned_data["quantity"],
                    comment=form.cleaned_data["comment"],
                    user=request.user,
                    seen_quantity=form.cleaned_data["seen_quantity"],
                )
            except AlreadyDone as exc:  # a repeat: the form again, as the line is now, saying it was done
                item = _item_or_404(request, item_id)
                form = _report_form(request, item, {**request.POST.dict(), "seen_quantity": item.quantity,
                                                    "quantity": min(form.cleaned_data["quantity"], item.quantity)})
                form.is_valid()
                form.add_error(None, exc.message)
                status_code = 409
            except ItemConflict as exc:
                return _gone_notice(request, item, exc.message, 409)
            except FulfillmentError as exc:
                form.add_error(None, exc.message)
                status_code = 422
            else:
                return _after_rejection(request, item, prior_status, result)
        else:
            status_code = 422
    context = {"form": form, **_preview_context(request, item, form)}
    if is_htmx(request):
        return render(request, f"{REPORT_PAGE}#report-form", context, status=status_code)
    context["tabs"] = tabs(request.facility, prior_status)
    context["status"] = prior_status
    context["back_url"] = reverse(TABS[prior_status][1])
    return render(request, REPORT_PAGE, context, status=status_code)


def _collect_results(result) -> list:
    results, pending = [], [result]
    while pending:
        current = pending.pop()
        results.append(current)
        pending.extend(getattr(current, "collateral", None) or [])
    return results


def _after_rejection(request: HttpRequest, item: OrderItem, prior_status: str, result) -> HttpResponse:
    results = _collect_results(result)
    messages.success(request, result.message)  # says where it went, and what the store's policy rejected with it
    if not is_htmx(request):
        return redirect(TABS[prior_status][1])
    item_ids = {item.pk} | {r.item.pk for r in results}
    order_ids = {item.order_id} | {r.item.order_id for r in results}
    still_here, orders_here = selectors.dashboard_items_here(
        facility=request.facility, status=prior_status, item_ids=item_ids, order_ids=order_ids
    )
    still_here_ids = {i.pk for i in still_here}
    parts: list[tuple[str, dict]] = []
    for remaining in with_item_urls(still_here):  # e.g. the part of a split line that stays here
        parts.append((f"{PAGE}#item-row", {"item": remaining, "rejectable": True, "oob": True}))
    for gone_id in sorted(item_ids - still_here_ids):
        parts.append((f"{PAGE}#oob-delete", {"dom_id": f"item-{gone_id}"}))
    for order_id in sorted(order_ids - orders_here):
        parts.append((f"{PAGE}#oob-delete", {"dom_id": f"order-{order_id}"}))
    parts += oob_tabs_and_messages(request, prior_status)
    return fragments(request, parts, headers={"HX-Reswap": "none"})


@require_GET
@facility_required
def item_report_preview(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item_or_404(request, item_id)
    if not _is_workable_here(request, item):  # no statement about an item that moved on: the Save would refuse it
        return _gone_notice(request, item, GONE_MESSAGE, 409)
    form = _report_form(request, item, request.GET)
    return render(request, f"{REPORT_PAGE}#effect-preview", _preview_context(request, item, form))

