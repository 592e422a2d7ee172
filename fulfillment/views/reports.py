"""Reports (managers and staff): the rejections report, its drill-down rows and its CSV.

Scope is decided on the server for every request: staff see every facility, a manager the stores where they are
MANAGER; anyone else gets 403. The store filter only offers (and only accepts) stores in that scope.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_GET

from fulfillment.permissions import reports_required
from fulfillment.reports import charts, selectors
from fulfillment.reports.csv import csv_response
from fulfillment.reports.filters import RejectionFilter
from fulfillment.reports.periods import zone_of

from .common import is_htmx, pk_url

PAGE = "fulfillment/reports/rejections.html"
ROWS_PER_PAGE = 50


def _params(request: HttpRequest, **changes) -> str:
    """The current filters (no page) with ``changes``; a value of None drops the key."""
    params = {k: v for k, v in request.GET.items() if k != "page" and v}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return urlencode(params)


def _filtered(request: HttpRequest):
    filterset = RejectionFilter(request.GET, facilities=request.report_scope)
    if not filterset.is_valid():
        return filterset, None
    return filterset, filterset.selection()


def _invalid(request: HttpRequest, filterset) -> HttpResponse:
    return render(request, PAGE, {"filter": filterset, "invalid": True, "page_kind": "report"}, status=400)


def _order_links(request: HttpRequest):
    """rejection -> URL of its order: the order page at the rejecting store for a manager, the admin for staff."""
    if request.user.is_staff:
        admin_url = pk_url("admin:fulfillment_order_change")
        return lambda r: admin_url(r.order_item.order_id)
    detail_url = pk_url("order-detail")
    return lambda r: f"{detail_url(r.order_item.order_id)}?store={r.facility_id}"


@require_GET
@reports_required
def rejections_report(request: HttpRequest) -> HttpResponse:
    filterset, selection = _filtered(request)
    if selection is None:
        return _invalid(request, filterset)
    rejections = filterset.qs
    groups = selectors.rejection_groups(rejections)
    routed = selectors.routed_groups(selection)
    head = selectors.headline(selection, rejections, groups, routed)
    granularity, points = selectors.trend(selection, rejections, routed)
    reasons = selectors.by_reason(groups, head.units)
    per_reason = request.GET.get("lines") == "reason"
    chart = charts.trend_chart(points, reasons={r["reason_id"]: r["reason__label"] for r in reasons} if per_reason else None)
    rows_url = reverse("reports-rejection-rows")
    report_url = reverse("reports-rejections")

    def narrow(**changes):
        query = _params(request, **changes)
        return f"{report_url}?{query}", f"{rows_url}?{query}"

    for row in reasons:
        row["url"], row["rows_url"] = narrow(reason=row["reason_id"])
    stores = selectors.by_store(selection, groups, routed, head.rejection_rate)
    for row in stores:
        row["url"], row["rows_url"] = narrow(store=row["facility"].pk)
    products = selectors.by_product(rejections, head.units)
    for row in products:
        row["url"], row["rows_url"] = narrow(product=row["order_item__product__sku"])
    associates = selectors.by_associate(groups, head.units)
    for row in associates:
        if row["rejected_by_id"] is not None:
            row["url"], row["rows_url"] = narrow(associate=row["rejected_by_id"])
    query = _params(request)
    context = {
        "page_kind": "report",
        "filter": filterset,
        "selection": selection,
        "head": head,
        "granularity": granularity,
        "points": points,
        "chart": chart,
        "per_reason": per_reason,
        "lines_url": f"{report_url}?{_params(request, lines=None if per_reason else 'reason')}",
        "reasons": reasons,
        "stores": stores,
        "products": products,
        "associates": associates,
        "rows_url": f"{rows_url}?{query}",
        "csv_url": f"{reverse('reports-rejections-csv')}?{query}",
        "multi_store": len(selection.facilities) > 1,
    }
    return render(request, PAGE, context)


@require_GET
@reports_required
def rejection_rows(request: HttpRequest) -> HttpResponse:
    """The drill-down: the rejection rows behind the figures, paginated, each linking to its order."""
    filterset, selection = _filtered(request)
    if selection is None:
        return _invalid(request, filterset)
    rows = selectors.drill_down_rows(filterset.qs)
    paginator = Paginator(rows, ROWS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    order_url = _order_links(request)
    page_rows = list(page_obj.object_list)
    for rejection in page_rows:
        rejection.order_url = order_url(rejection)
        local = rejection.created_at.astimezone(zone_of(rejection.facility.timezone))
        rejection.local_label = date_format(local, "D j M Y, H:i T")
    query = _params(request)
    context = {
        "page_kind": "rows",
        "filter": filterset,
        "selection": selection,
        "page_obj": page_obj,
        "rows": page_rows,
        "query": query,
        "page_url": reverse("reports-rejection-rows"),
        "report_url": f"{reverse('reports-rejections')}?{query}",
        "csv_url": f"{reverse('reports-rejections-csv')}?{query}",
    }
    if is_htmx(request) and request.htmx.target == "drill-down":
        return render(request, f"{PAGE}#drill-down", context)
    return render(request, PAGE, context)


@require_GET
@reports_required
def rejections_csv(request: HttpRequest) -> HttpResponse:
    filterset, selection = _filtered(request)
    if selection is None:
        return _invalid(request, filterset)
    return csv_response(filterset.qs, f"rejections-{selection.date_from}-to-{selection.date_to}.csv")
