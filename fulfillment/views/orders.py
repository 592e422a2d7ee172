"""The order pages: Open, In Progress and Completed (with search), order detail, start picking, complete, store switch.

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
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_POST

from fulfillment import selectors, services
from fulfillment.errors import FulfillmentError
from fulfillment.forms import FacilitySwitchForm, SearchForm, StartPickingForm
from fulfillment.models import OrderItem
from fulfillment.permissions import choose_facility, facility_required, is_manager

from .common import (
    PAGE, REJECT_ALL_URLS, TABS, fragments, is_htmx, oob_tabs_and_messages, pk_url, tabs, today_context, with_item_urls,
)

ORDERS_PER_PAGE = 25


def _with_card_values(orders, facility):
    """What each order card of a page shows besides the order's own fields, computed once per page rather than per
    card in the template: ``detail_url`` and ``complete_url`` (a few reverse() calls per page instead of several per
    card), ``report_url`` on its ``items_here``, and when it was placed: ``placed_iso`` (ISO 8601, as the ``date:'c'``
    filter gives it, in the current time zone) and ``placed_label`` (``date:"D j M Y, H:i T"`` in the store's time zone)."""
    orders = list(orders)
    detail_url, complete_url, report_url = pk_url("order-detail"), pk_url("order-complete"), pk_url("item-report")
    for order in orders:
        order.detail_url = detail_url(order.pk)
        order.complete_url = complete_url(order.pk)
        order.placed_iso = timezone.localtime(order.placed_at).isoformat()  # what the date:"c" filter gives
        with_item_urls(order.items_here, report_url)
    with timezone.override(facility.timezone):
        for order in orders:
            order.placed_label = date_format(timezone.localtime(order.placed_at), "D j M Y, H:i T")
    return orders


def page_context(request: HttpRequest, status: str, *, query: str = "", page_number=None) -> dict:
    facility = request.facility
    counts = selectors.dashboard_tab_counts(facility=facility)
    paginator = Paginator(selectors.dashboard_order_ids(facility=facility, status=status, query=query), ORDERS_PER_PAGE)
    if not query:
        # Unfiltered, the list is exactly the orders the tab counts (an item here in this status): no COUNT query.
        paginator.count = counts.get(status, 0)
    page_obj = paginator.get_page(page_number)
    orders = selectors.dashboard_orders(facility=facility, status=status, order_ids=page_obj.object_list)
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
        "orders": _with_card_values(orders, facility),
        "tabs": tabs(facility, status, counts),
        "rejectable": status in OrderItem.REJECTABLE,
        "can_reject_all": is_manager(request.membership) and status in REJECT_ALL_URLS,
        "reject_all_url": reverse(REJECT_ALL_URLS[status]) if status in REJECT_ALL_URLS else "",
        "tab_counts": counts,
    }



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
    context = page_context(request, status, query=query, page_number=request.GET.get("page"))
    if is_htmx(request) and request.htmx.target == "order-list":
        response = render(request, f"{PAGE}#order-list", context)
    else:
        context["search_form"] = form
        if status == OrderItem.Status.OPEN:  # the Today panel tops the full Open page only, never the list fragment
            context.update(today_context(request, context["tab_counts"]))
        response = render(request, PAGE, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@require_GET
@facility_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    # ?store=<id>: one of the user's stores (a report's drill-down links to the order at the store that rejected it)
    facility = next((m.facility for m in request.memberships if str(m.facility_id) == request.GET.get("store")), request.facility)
    order = selectors.dashboard_order_detail(facility=facility, order_id=order_id)
    if order is None:
        raise Http404("No such order at this store.")
    items = list(order.items.all())
    short = selectors.short_levels_of_items(items)
    for item in items:
        item.short_level = short.get((item.facility_id, item.product_id))
    return render(
        request,
        "fulfillment/order_detail.html",
        {
            "facility": facility,
            "order": order,
            "items": items,
            "tabs": tabs(request.facility, None),
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


def after_list_change(request: HttpRequest, status: str) -> HttpResponse:
    """HTMX: the page's list re-rendered (same search and page) with tab counts and messages; else a redirect."""
    query = SearchForm(request.POST).cleaned_query()
    page = request.POST.get("page") or None
    if not is_htmx(request):
        url = reverse(TABS[status][1])
        params = urlencode({k: v for k, v in (("q", query), ("page", page)) if v})
        return redirect(f"{url}?{params}" if params else url)
    context = page_context(request, status, query=query, page_number=page)
    return fragments(request, [(f"{PAGE}#order-list", context), *oob_tabs_and_messages(request, status)])


@require_POST
@facility_required
def orders_start_picking(request: HttpRequest) -> HttpResponse:
    form = StartPickingForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["order_ids"][0])
        return after_list_change(request, OrderItem.Status.OPEN)
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
    return after_list_change(request, OrderItem.Status.OPEN)


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
    return after_list_change(request, OrderItem.Status.IN_PROGRESS)

