"""What every associate page shares: the tabs, HTMX detection, multi-fragment responses, notices."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from fulfillment import selectors
from fulfillment.models import OrderItem
from fulfillment.permissions import is_manager
from fulfillment.reports.selectors import today_panel

PAGE = "fulfillment/orders.html"
NOTICE_PAGE = "fulfillment/message.html"

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


def is_htmx(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def tabs(facility, current: str | None, counts: dict[str, int] | None = None) -> list[dict]:
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


def pk_url(url_name: str):
    """``pk -> reverse(url_name, args=[pk])``: the URL of a page's row."""
    return lambda pk: reverse(url_name, args=[pk])


def with_item_urls(items, report_url=None):
    """Set ``report_url`` on each item (the Report an Issue button of its row)."""
    report_url = report_url or pk_url("item-report")
    for item in items:
        item.report_url = report_url(item.pk)
    return items


def fragments(request: HttpRequest, parts: list[tuple[str, dict]], *, status: int = 200, headers=None) -> HttpResponse:
    """One HTMX response made of several fragments (the main one first, then out-of-band ones)."""
    body = "".join(render_to_string(name, context, request=request) for name, context in parts)
    response = HttpResponse(body, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def today_context(request: HttpRequest, counts: dict[str, int]) -> dict:
    """The Today panel of the Open tab: the full panel for managers, a compact one for associates."""
    return {
        "today": today_panel(facility=request.facility, counts=counts),
        "today_full": is_manager(request.membership),
        "facility": request.facility,
    }


def oob_tabs_and_messages(request: HttpRequest, current: str | None) -> list[tuple[str, dict]]:
    """Tab counts and messages, plus the Today panel when the page is the Open tab (it sits at the top of it)."""
    counts = selectors.dashboard_tab_counts(facility=request.facility)
    parts = [
        ("base.html#tabs", {"tabs": tabs(request.facility, current, counts), "oob": True}),
        ("base.html#messages", {"oob": True}),
    ]
    if current == OrderItem.Status.OPEN:
        parts.append((f"{PAGE}#today-panel", {**today_context(request, counts), "oob": True}))
    return parts


def notice(request: HttpRequest, message: str, *, status: int, title: str = "") -> HttpResponse:
    """A message instead of a page or fragment (403 manager-only, 409 conflicts, ...)."""
    if is_htmx(request):
        return render(request, f"{NOTICE_PAGE}#notice", {"message": message, "title": title}, status=status)
    return render(request, NOTICE_PAGE, {"message": message, "title": title}, status=status)

