"""Reject All (managers): the confirmation with what it will reject, and the job's progress and summary."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from fulfillment import selectors, services
from fulfillment.errors import FulfillmentError
from fulfillment.forms import RejectAllForm
from fulfillment.models import BulkRejection
from fulfillment.permissions import facility_required, is_manager

from .common import PAGE, REJECT_ALL_URLS, TABS, fragments, is_htmx, notice, oob_tabs_and_messages, tabs
from .orders import page_context

CONFIRM_PAGE = "fulfillment/reject_all.html"
PROGRESS_PAGE = "fulfillment/bulk_rejection.html"

MANAGER_ONLY = "Only a store manager can reject all orders. Ask your manager, or report issues item by item."


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@facility_required
def reject_all(request: HttpRequest, status: str) -> HttpResponse:
    if not is_manager(request.membership):
        return notice(request, MANAGER_ONLY, status=403, title="Managers only")
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
                if not is_htmx(request):
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
    if is_htmx(request):
        return render(request, f"{CONFIRM_PAGE}#reject-all-confirm", context, status=status_code)
    context["tabs"] = tabs(request.facility, status)
    context["back_url"] = context["page_url"]
    return render(request, CONFIRM_PAGE, context, status=status_code)


def _bulk_context(request: HttpRequest, bulk: BulkRejection) -> dict:
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
        "max_attempts": settings.BULK_REJECTION_MAX_ATTEMPTS,
        "paused": bulk.is_paused(now=timezone.now(), after_seconds=settings.BULK_REJECTION_PAUSED_SECONDS),
        "can_retry": bulk.state == BulkRejection.State.FAILED and is_manager(request.membership),
    }


def _bulk_progress_response(request: HttpRequest, bulk: BulkRejection) -> HttpResponse:
    context = _bulk_context(request, bulk)
    parts = [(f"{PROGRESS_PAGE}#bulk-progress", context)]
    if context["finished"]:
        # The page's list (now empty but for what was skipped) and the counts, without a reload.
        page = page_context(request, bulk.from_status)
        page["oob"] = True
        parts.append((f"{PAGE}#order-list", page))
        parts += oob_tabs_and_messages(request, bulk.from_status)
    return fragments(request, parts)


@vary_on_headers("HX-Request")
@require_GET
@facility_required
def bulk_rejection_status(request: HttpRequest, bulk_id: int) -> HttpResponse:
    bulk = selectors.dashboard_bulk_rejection(facility=request.facility, bulk_id=bulk_id)
    if bulk is None:
        raise Http404("No such Reject All at this store.")
    if is_htmx(request):
        return _bulk_progress_response(request, bulk)
    context = _bulk_context(request, bulk)
    context["tabs"] = tabs(request.facility, None)
    context["facility"] = request.facility
    context["back_url"] = context["page_url"]
    return render(request, PROGRESS_PAGE, context)


@require_POST
@facility_required
def bulk_rejection_retry(request: HttpRequest, bulk_id: int) -> HttpResponse:
    """**Try again** on a failed Reject All (managers): queued again, it goes on after its last saved batch."""
    if not is_manager(request.membership):
        return notice(request, MANAGER_ONLY, status=403, title="Managers only")
    bulk = selectors.dashboard_bulk_rejection(facility=request.facility, bulk_id=bulk_id)
    if bulk is None:
        raise Http404("No such Reject All at this store.")
    try:
        bulk = services.bulk_rejection_retry(bulk_rejection_id=bulk.pk, facility=request.facility)
    except FulfillmentError as exc:
        return notice(request, exc.message, status=409, title="Nothing to try again")
    if not is_htmx(request):
        return redirect("bulk-rejection", bulk_id=bulk.pk)
    return _bulk_progress_response(request, bulk)
