"""The store associate's pages: Open, In Progress and Completed orders, order detail, Report an Issue and Reject All.

Views are thin: a form parses the input, a selector reads (always scoped to ``request.facility``), a service writes.
Full pages render ``fulfillment/<page>.html``; HTMX requests get ``page.html#fragment`` plus out-of-band fragments
(tab counts, messages) where the page around them changes.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_POST, require_http_methods
from django.views.decorators.vary import vary_on_headers

from fulfillment import selectors, services
from fulfillment.errors import FulfillmentError, ItemConflict
from fulfillment.forms import FacilitySwitchForm, RejectAllForm, ReportIssueForm, SearchForm, StartPickingForm
from fulfillment.models import BulkRejection, OrderItem
from fulfillment.permissions import choose_facility, facility_required, is_manager
from inventory.selectors import rejection_effect_preview

ORDERS_PER_PAGE = 25
PAGE = "fulfillment/orders.html"

# status -> (tab label, url name, slug)
TABS = {
    OrderItem.Status.OPEN: ("Open", "orders-open", "open"),
    OrderItem.Status.IN_PROGRESS: ("In Progress", "orders-in-progress", "in-progress"),
    OrderItem.Status.COMPLETED: ("Completed", "orders-completed", "completed"),
}
REJECT_ALL_URLS = {
    OrderItem.Status.OPEN: "reject-all-open",
    OrderItem.Status.IN_PROGRESS: "reject-all-in-progress",
}


# --- helpers --------------------------------------------------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _tabs(facility, current: str | None, counts: dict[str, int] | None = None) -> list[dict]:
    if counts is None:
        counts = selectors.dashboard_tab_counts(facility=facility)
    return [
        {
            "status": status,
            "label": label,
            "slug": slug,
            "url": reverse(url_name),
            "count": counts.get(status, 0),
            "current": status == current,
        }
        for status, (label, url_name, slug) in TABS.items()
    ]


def _pk_url(url_name: str):
    """``pk -> reverse(url_name, args=[pk])`` for a page's many rows with one reverse(): the URL around a marker
    pk, split once, then joined per row (the same string reverse() gives for an int pk)."""
    marker = "9081726354"
    head, sep, tail = reverse(url_name, args=[int(marker)]).partition(marker)
    if not sep or marker in tail:  # not a plain "<head><pk><tail>" URL: fall back to reverse() per row
        return lambda pk: reverse(url_name, args=[pk])
    return lambda pk: f"{head}{pk}{tail}"


def _with_item_urls(items, report_url=None):
    """Set ``report_url`` on each item (the Report an Issue button of its row)."""
    report_url = report_url or _pk_url("item-report")
    for item in items:
        item.report_url = report_url(item.pk)
    return items


def _with_card_values(orders, facility):
    """What each order card of a page shows besides the order's own fields, computed once per page rather than per
    card in the template: ``detail_url`` and ``complete_url`` (a few reverse() calls per page instead of several per
    card), ``report_url`` on its ``items_here``, and when it was placed: ``placed_iso`` (the ``date:'c'`` filter, in
    the current time zone) and ``placed_label`` (``date:"D j M Y, H:i T"`` in the store's time zone)."""
    orders = list(orders)
    detail_url, complete_url, report_url = _pk_url("order-detail"), _pk_url("order-complete"), _pk_url("item-report")
    for order in orders:
        order.detail_url = detail_url(order.pk)
        order.complete_url = complete_url(order.pk)
        order.placed_iso = date_format(timezone.localtime(order.placed_at), "c")
        _with_item_urls(order.items_here, report_url)
    with timezone.override(facility.timezone):
        for order in orders:
            order.placed_label = date_format(timezone.localtime(order.placed_at), "D j M Y, H:i T")
    return orders


def _page_context(request: HttpRequest, status: str, *, query: str = "", page_number=None) -> dict:
    facility = request.facility
    counts = selectors.dashboard_tab_counts(facility=facility)
    orders = selectors.dashboard_orders(facility=facility, status=status, query=query)
    paginator = Paginator(orders, ORDERS_PER_PAGE)
    if not query:
        # Unfiltered, the list is exactly the orders the tab counts (an item here in this status): no COUNT query.
        paginator.count = counts.get(status, 0)
    page_obj = paginator.get_page(page_number)
    label, url_name, slug = TABS[status]
    return {
        "facility": facility,
        "status": status,
        "status_label": label,
        "status_slug": slug,
        "page_url": reverse(url_name),
        "start_picking_url": reverse("orders-start-picking"),
        "query": query,
        "page_obj": page_obj,
        "orders": _with_card_values(page_obj.object_list, facility),
        "tabs": _tabs(facility, status, counts),
        "rejectable": status in OrderItem.REJECTABLE,
        "can_reject_all": is_manager(request.membership) and status in REJECT_ALL_URLS,
        "reject_all_url": reverse(REJECT_ALL_URLS[status]) if status in REJECT_ALL_URLS else "",
    }


def _fragments(request: HttpRequest, parts: list[tuple[str, dict]], *, status: int = 200, headers=None) -> HttpResponse:
    """One HTMX response made of several fragments (the main one first, then out-of-band ones)."""
    body = "".join(render_to_string(name, context, request=request) for name, context in parts)
    response = HttpResponse(body, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _oob_tabs_and_messages(request: HttpRequest, current: str | None) -> list[tuple[str, dict]]:
    return [
        (f"{PAGE}#tabs", {"tabs": _tabs(request.facility, current), "oob": True}),
        ("base.html#messages", {"oob": True}),
    ]


def _notice(request: HttpRequest, message: str, *, status: int, title: str = "") -> HttpResponse:
    """A message instead of a page or fragment (403 manager-only, 409 conflicts, ...)."""
    if _is_htmx(request):
        return render(request, f"{PAGE}#notice", {"message": message, "title": title}, status=status)
    return render(request, "fulfillment/message.html", {"message": message, "title": title}, status=status)


def _safe_status(value: str | None, default: str = OrderItem.Status.OPEN) -> str:
    return value if value in TABS else default


# --- pages ----------------------------------------------------------------------------------------------------


@facility_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return redirect("orders-open")


@require_GET
@facility_required
def order_list(request: HttpRequest, status: str) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_query()
    if request.GET.get("q") and not form.is_valid():
        messages.error(request, "Search for at most 100 characters.")
    context = _page_context(request, status, query=query, page_number=request.GET.get("page"))
    if _is_htmx(request) and request.htmx.target == "order-list":
        response = render(request, f"{PAGE}#order-list", context)
    else:
        context["search_form"] = form
        response = render(request, PAGE, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@require_GET
@facility_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = selectors.dashboard_order_detail(facility=request.facility, order_id=order_id)
    if order is None:
        raise Http404("No such order at this store.")
    items = list(order.items.all())
    return render(
        request,
        "fulfillment/order_detail.html",
        {
            "facility": request.facility,
            "order": order,
            "items": items,
            "tabs": _tabs(request.facility, None),
        },
    )


@require_POST
@facility_required
def facility_switch(request: HttpRequest) -> HttpResponse:
    form = FacilitySwitchForm(request.POST, memberships=request.memberships)
    if not form.is_valid() or choose_facility(request, form.cleaned_data["facility"]) is None:
        raise Http404("You do not work at that store.")
    membership = next(m for m in request.memberships if m.facility_id == form.cleaned_data["facility"])
    messages.success(request, f"You are now working at {membership.facility.name}.")
    return redirect("orders-open")


# --- workflow -------------------------------------------------------------------------------------------------


def _after_list_change(request: HttpRequest, status: str) -> HttpResponse:
    """HTMX: the page's list re-rendered (same search and page) with tab counts and messages; else a redirect."""
    query = SearchForm(request.POST).cleaned_query()
    page = request.POST.get("page") or None
    if not _is_htmx(request):
        url = reverse(TABS[status][1])
        params = urlencode({k: v for k, v in (("q", query), ("page", page)) if v})
        return redirect(f"{url}?{params}" if params else url)
    context = _page_context(request, status, query=query, page_number=page)
    return _fragments(request, [(f"{PAGE}#order-list", context), *_oob_tabs_and_messages(request, status)])


@require_POST
@facility_required
def orders_start_picking(request: HttpRequest) -> HttpResponse:
    form = StartPickingForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["order_ids"][0])
        return _after_list_change(request, OrderItem.Status.OPEN)
    order_ids = form.cleaned_data["order_ids"]
    if set(order_ids) - selectors.dashboard_order_ids_here(facility=request.facility, order_ids=order_ids):
        raise Http404("No such order at this store.")
    try:
        moved = services.orders_start_picking(facility=request.facility, order_ids=order_ids, user=request.user)
    except FulfillmentError as exc:
        messages.error(request, exc.message)
    else:
        noun = "order" if moved == 1 else "orders"
        if moved:
            messages.success(request, f"{moved} {noun} moved to In Progress.")
        not_moved = len(order_ids) - moved
        if not_moved:
            messages.warning(
                request,
                f"{not_moved} of the selected orders had no open items left here (someone else started or moved them).",
            )
    return _after_list_change(request, OrderItem.Status.OPEN)


@require_POST
@facility_required
def order_complete(request: HttpRequest, order_id: int) -> HttpResponse:
    if not selectors.dashboard_order_ids_here(facility=request.facility, order_ids=[order_id]):
        raise Http404("No such order at this store.")
    try:
        order = services.order_complete(facility=request.facility, order_id=order_id, user=request.user)
    except FulfillmentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order {order.name} is completed.")
    return _after_list_change(request, OrderItem.Status.IN_PROGRESS)


# --- Report an Issue ------------------------------------------------------------------------------------------


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
    rest_stays = quantity < item.quantity
    if reason is not None:
        policy = selectors.rejection_policy_for(request.facility)
        preview = rejection_effect_preview(
            quantity_on_hand=level.quantity_on_hand if level else 0,
            available_to_promise=level.available_to_promise if level else 0,
            quantity=quantity,
            effect=reason.inventory_effect,
        )
        consequences = selectors.dashboard_policy_consequences(
            item=item, reason_code=reason.code, policy=policy, quantity=quantity
        )
        rest_stays = rest_stays and selectors.rest_of_line_reason(item=item, reason_code=reason.code, policy=policy) is None
    return {
        "item": item,
        "facility": request.facility,
        "reason": reason,
        "quantity": quantity,
        "preview": preview,
        "consequences": consequences,
        "splits": rest_stays,
        "remaining": item.quantity - quantity,
    }


def _gone_notice(request: HttpRequest, item: OrderItem, message: str, status: int) -> HttpResponse:
    """The item cannot be worked here any more: its row says why (HTMX), or a message on the page."""
    if _is_htmx(request):
        parts = [(f"{PAGE}#item-gone", {"item": item, "message": message})]
        parts += _oob_tabs_and_messages(request, None)
        return _fragments(
            request, parts, status=status, headers={"HX-Retarget": f"#item-{item.pk}", "HX-Reswap": "outerHTML"}
        )
    messages.error(request, message)
    return redirect("orders-open")


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@facility_required
def item_report(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item_or_404(request, item_id)
    if not _is_workable_here(request, item):
        return _gone_notice(
            request, item, "This item is no longer open at this store: someone already rejected, moved or completed it.", 409
        )
    prior_status = item.status
    form = _report_form(request, item, request.POST if request.method == "POST" else None)
    status_code = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.item_reject(
                    facility=request.facility,
                    item_id=item.pk,
                    reason_code=form.cleaned_data["reason"].code,
                    quantity=form.cleaned_data["quantity"],
                    comment=form.cleaned_data["comment"],
                    user=request.user,
                )
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
    if _is_htmx(request):
        return render(request, f"{PAGE}#report-form", context, status=status_code)
    context["tabs"] = _tabs(request.facility, prior_status)
    context["status"] = prior_status
    context["back_url"] = reverse(TABS[prior_status][1])
    return render(request, "fulfillment/report_issue.html", context, status=status_code)


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
    if not _is_htmx(request):
        return redirect(TABS[prior_status][1])
    item_ids = {item.pk} | {r.item.pk for r in results}
    order_ids = {item.order_id} | {r.item.order_id for r in results}
    still_here, orders_here = selectors.dashboard_items_here(
        facility=request.facility, status=prior_status, item_ids=item_ids, order_ids=order_ids
    )
    still_here_ids = {i.pk for i in still_here}
    parts: list[tuple[str, dict]] = []
    for remaining in _with_item_urls(still_here):  # e.g. the part of a split line that stays here
        parts.append((f"{PAGE}#item-row", {"item": remaining, "rejectable": True, "oob": True}))
    for gone_id in sorted(item_ids - still_here_ids):
        parts.append((f"{PAGE}#oob-delete", {"dom_id": f"item-{gone_id}"}))
    for order_id in sorted(order_ids - orders_here):
        parts.append((f"{PAGE}#oob-delete", {"dom_id": f"order-{order_id}"}))
    parts += _oob_tabs_and_messages(request, prior_status)
    return _fragments(request, parts, headers={"HX-Reswap": "none"})


@require_GET
@facility_required
def item_report_preview(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item_or_404(request, item_id)
    form = _report_form(request, item, request.GET)
    return render(request, f"{PAGE}#effect-preview", _preview_context(request, item, form))


# --- Reject All -----------------------------------------------------------------------------------------------

MANAGER_ONLY = "Only a store manager can reject all orders. Ask your manager, or report issues item by item."


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@facility_required
def reject_all(request: HttpRequest, status: str) -> HttpResponse:
    if not is_manager(request.membership):
        return _notice(request, MANAGER_ONLY, status=403, title="Managers only")
    form = RejectAllForm(request.POST if request.method == "POST" else None, auto_id="id_reject_all_%s")
    status_code = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                bulk = services.bulk_rejection_request(
                    facility=request.facility,
                    from_status=status,
                    reason_code=form.cleaned_data["reason"].code,
                    user=request.user,
                    stop_routing=form.cleaned_data["stop_routing"],
                )
            except FulfillmentError as exc:
                form.add_error(None, exc.message)
                status_code = 422
            else:
                if not _is_htmx(request):
                    return redirect("bulk-rejection", bulk_id=bulk.pk)
                return _bulk_progress_response(request, bulk)
        else:
            status_code = 422
    orders_count, items_count = selectors.reject_all_counts(facility=request.facility, from_status=status)
    label, url_name, slug = TABS[status]
    context = {
        "form": form,
        "facility": request.facility,
        "status": status,
        "status_label": label,
        "orders_count": orders_count,
        "items_count": items_count,
        "reject_all_url": reverse(REJECT_ALL_URLS[status]),
        "page_url": reverse(url_name),
    }
    if _is_htmx(request):
        return render(request, f"{PAGE}#reject-all-confirm", context, status=status_code)
    context["tabs"] = _tabs(request.facility, status)
    context["back_url"] = context["page_url"]
    return render(request, "fulfillment/reject_all.html", context, status=status_code)


def _bulk_context(bulk: BulkRejection) -> dict:
    names = selectors.facility_names(bulk.rerouted.keys()) if bulk.rerouted else {}
    rerouted = sorted(
        ({"code": code, "name": names.get(code, code), "count": n} for code, n in bulk.rerouted.items()),
        key=lambda row: (-row["count"], row["code"]),
    )
    finished = bulk.state in (BulkRejection.State.DONE, BulkRejection.State.FAILED)
    label, url_name, slug = TABS[bulk.from_status]
    return {
        "bulk": bulk,
        "rerouted": rerouted,
        "finished": finished,
        "status_label": label,
        "page_url": reverse(url_name),
    }


def _bulk_progress_response(request: HttpRequest, bulk: BulkRejection) -> HttpResponse:
    context = _bulk_context(bulk)
    parts = [(f"{PAGE}#bulk-progress", context)]
    if context["finished"]:
        # The page's list (now empty but for what was skipped) and the counts, without a reload.
        page = _page_context(request, bulk.from_status)
        page["oob"] = True
        parts.append((f"{PAGE}#order-list", page))
        parts += _oob_tabs_and_messages(request, bulk.from_status)
    return _fragments(request, parts)


@vary_on_headers("HX-Request")
@require_GET
@facility_required
def bulk_rejection_status(request: HttpRequest, bulk_id: int) -> HttpResponse:
    bulk = selectors.dashboard_bulk_rejection(facility=request.facility, bulk_id=bulk_id)
    if bulk is None:
        raise Http404("No such Reject All at this store.")
    if _is_htmx(request):
        return _bulk_progress_response(request, bulk)
    context = _bulk_context(bulk)
    context["tabs"] = _tabs(request.facility, None)
    context["facility"] = request.facility
    context["back_url"] = context["page_url"]
    return render(request, "fulfillment/bulk_rejection.html", context)
