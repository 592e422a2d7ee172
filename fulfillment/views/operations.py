"""The operations team's page: parked (UNROUTED) items, why each is parked, and "Route again" (one, or all matching).

For the operations team: staff accounts with the permission the admin's "Route selected unrouted items" action needs
(``fulfillment.change_orderitem``). Thin: a form parses the filters, selectors read, ``services.items_route`` writes. The list is the
``parked-list`` fragment of ``fulfillment/parked.html``: HTMX filters, paging and routing swap only that fragment
(plus the messages, out of band); without JavaScript every control is a plain GET or POST with a redirect.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from fulfillment import selectors, services
from fulfillment.errors import FulfillmentError
from fulfillment.forms import ParkedFilterForm, RouteForm
from fulfillment.permissions import operations_required
from fulfillment.text import route_summary_text

PAGE = "fulfillment/parked.html"
ITEMS_PER_PAGE = 50


def _query_string(filters: dict[str, str], page=None) -> str:
    params = {k: v for k, v in filters.items() if v}
    if page and str(page) != "1":
        params["page"] = page
    return urlencode(params)


def _list_context(request: HttpRequest, filters: dict[str, str], page_number) -> dict:
    items = selectors.parked_items(kind=filters["kind"], product_query=filters["product"])
    page_obj = Paginator(items, ITEMS_PER_PAGE).get_page(page_number)
    rows = list(page_obj.object_list)
    decisions = selectors.parked_latest_decisions([item.pk for item in rows]) if rows else {}
    deadlines = selectors.parked_deadlines(rows, selectors.parked_limits()) if rows else {}
    now = timezone.now()
    kinds = selectors.PARKED_KINDS
    for item in rows:
        item.last_rejection = item.rejections_newest[0] if item.rejections_newest else None
        item.parked_days = (now - deadlines[item.pk].since).days
        item.cancel_at = deadlines[item.pk].cancel_at
        item.kind_key = selectors.parked_kind_key(item.parked_kind)
        item.kind_label = kinds[item.kind_key][0]
        item.latest_decision = decisions.get(item.pk)
    page_url = reverse("operations-parked")
    base = _query_string(filters)
    return {
        "page_obj": page_obj,
        "items": rows,
        "filters": filters,
        "filtered": bool(filters["kind"] or filters["product"]),
        "kind_label": kinds[filters["kind"]][0] if filters["kind"] in kinds else "",
        "page_url": page_url,
        "filter_query": base,
        "prev_url": f"{page_url}?{_query_string(filters, page_obj.previous_page_number())}" if page_obj.has_previous() else "",
        "next_url": f"{page_url}?{_query_string(filters, page_obj.next_page_number())}" if page_obj.has_next() else "",
    }


def _kind_options(counts: dict[str, int], current: str) -> list[dict]:
    total = sum(counts.values())
    options = [{"value": "", "label": "Any reason", "count": total, "selected": not current}]
    for key, (label, _) in selectors.PARKED_KINDS.items():
        options.append({"value": key, "label": label, "count": counts.get(key, 0), "selected": key == current})
    return options


@require_GET
@operations_required
def parked_list(request: HttpRequest) -> HttpResponse:
    form = ParkedFilterForm(request.GET)
    filters = form.filters()
    if request.GET and not form.is_valid():
        messages.error(request, "That filter is not valid; showing every parked item it allows.")
    context = _list_context(request, filters, request.GET.get("page"))
    if request.htmx and not request.htmx.history_restore_request and request.htmx.target == "parked-list":
        response = render(request, f"{PAGE}#parked-list", context)
        response.write(render_to_string("base.html#messages", {"oob": True}, request=request))
    else:
        context["kind_options"] = _kind_options(selectors.parked_kind_counts(), filters["kind"])
        context["form"] = form
        response = render(request, PAGE, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def route_summary_message(summary, *, asked: int) -> str:
    """What a Route again did (or that there was nothing left to route)."""
    if not asked or (summary.routed == 0 and summary.parked == 0):
        return "Nothing to route: those items are no longer parked (someone routed or changed them meanwhile)."
    return route_summary_text(summary)


@require_POST
@operations_required
def parked_route(request: HttpRequest) -> HttpResponse:
    filter_form = ParkedFilterForm(request.POST)
    filters = filter_form.filters()
    page = request.POST.get("page") or None
    form = RouteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    elif form.cleaned_data.get("scope") == "all" and not filter_form.is_valid():
        # never widen "all matching" to everything because a filter could not be read
        messages.error(request, "That filter is not valid, so nothing was routed. Set the filter again and retry.")
    else:
        if form.cleaned_data.get("scope") == "all":
            ids = list(
                selectors.parked_items(kind=filters["kind"], product_query=filters["product"])
                .prefetch_related(None).select_related(None).values_list("pk", flat=True)
            )
        else:
            ids = [form.cleaned_data["item_id"]]
        try:
            summary = services.items_route(item_ids=ids) if ids else None
        except FulfillmentError as exc:
            messages.error(request, exc.message)
        else:
            if summary is None:
                messages.info(request, "No parked items match the filter: nothing to route.")
            else:
                text = route_summary_message(summary, asked=len(ids))
                level = messages.SUCCESS if summary.routed else messages.WARNING
                messages.add_message(request, level, text)
    if not request.htmx:
        query = _query_string(filters, page)
        return redirect(f"{reverse('operations-parked')}{'?' + query if query else ''}")
    context = _list_context(request, filters, page)
    body = render_to_string(f"{PAGE}#parked-list", context, request=request)
    body += render_to_string(f"{PAGE}#kind-filter", {
        "kind_options": _kind_options(selectors.parked_kind_counts(), filters["kind"]), "oob": True,
    }, request=request)
    body += render_to_string("base.html#messages", {"oob": True}, request=request)
    return HttpResponse(body)
