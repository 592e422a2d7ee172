"""The associate dashboard: pages, search, workflow, Report an Issue, Reject All, store scope, CSRF and query counts."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from fulfillment.models import BulkRejection, FacilityMembership, OrderItem, Rejection, RejectionPolicy
from fulfillment.services import item_reject, order_complete, orders_start_picking
from inventory.models import Facility, InventoryLevel
from inventory.services import inventory_receive
from tests.factories import FacilityFactory, MembershipFactory, ProductFactory, UserFactory, order_placed, reason
from tests.support import qoh_atp

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def hx(target: str | None = None) -> dict:
    headers = dict(HX)
    if target:
        headers["HTTP_HX_TARGET"] = target
    return headers


class World:
    """Brooklyn (the associate's store), Manhattan (another store ~9 km away), a warehouse in New Jersey."""

    def __init__(self):
        self.brooklyn = FacilityFactory(
            code="BROOKLYN", name="Brooklyn", latitude=40.6782, longitude=-73.9442, timezone="America/New_York"
        )
        self.manhattan = FacilityFactory(code="MANHATTAN", name="Manhattan", latitude=40.7549, longitude=-73.9840)
        self.warehouse = FacilityFactory(
            code="NJ_WH", name="NJ Warehouse", kind=Facility.Kind.WAREHOUSE, latitude=40.7357, longitude=-74.1724,
            allows_pickup=False,
        )
        self.tee = ProductFactory(sku="TEE-RED-M", name="Red tee M", upc="012345678905")
        self.mug = ProductFactory(sku="MUG-BLUE", name="Blue mug", upc="098765432109")
        for facility, qty in ((self.brooklyn, 20), (self.manhattan, 20), (self.warehouse, 100)):
            for product in (self.tee, self.mug):
                inventory_receive(facility=facility, product=product, quantity=qty)
        self.associate = UserFactory(username="bk_associate")
        self.manager = UserFactory(username="bk_manager")
        self.other_associate = UserFactory(username="mh_associate")
        MembershipFactory(user=self.associate, facility=self.brooklyn)
        MembershipFactory(user=self.manager, facility=self.brooklyn, role=FacilityMembership.Role.MANAGER)
        MembershipFactory(user=self.other_associate, facility=self.manhattan)

    def stock_up(self, qty=100):
        for product in (self.tee, self.mug):
            inventory_receive(facility=self.brooklyn, product=product, quantity=qty)

    def order_here(self, lines=None, **kwargs):
        return order_placed(lines=lines or [(self.tee, 1)], near=self.brooklyn, **kwargs)

    def order_elsewhere(self, lines=None, **kwargs):
        return order_placed(lines=lines or [(self.tee, 1)], near=self.manhattan, **kwargs)


@pytest.fixture
def world():
    return World()


@pytest.fixture
def associate(client, world):
    client.force_login(world.associate)
    return client


@pytest.fixture
def manager(client, world):
    client.force_login(world.manager)
    return client


def text(response) -> str:
    """The response body with whitespace collapsed and HTML entities decoded (what a reader sees in the markup)."""
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


# --- login, scope basics -----------------------------------------------------------------------------------------


def test_login_page_and_anonymous_redirect(client, world):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()

    response = client.get(reverse("orders-open"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    response = client.get(reverse("orders-open"), **HX)
    assert response.status_code == 200 and response["HX-Redirect"].startswith(reverse("login"))


def test_login_with_password_lands_on_open_orders(client, world):
    response = client.post(reverse("login"), {"username": "bk_associate", "password": "pass12345"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("orders-open")
    assert "Brooklyn" in text(response)


def test_root_redirects_to_open(associate):
    response = associate.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("orders-open")


def test_staff_without_membership_goes_to_admin(client, world):
    staff = UserFactory(username="ops", is_staff=True)
    client.force_login(staff)
    response = client.get(reverse("orders-open"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_user_without_membership_is_told_so(client, world):
    client.force_login(UserFactory(username="nobody"))
    response = client.get(reverse("orders-open"))
    assert response.status_code == 403
    assert "not a member of any store" in text(response)


def test_logout_is_a_post(associate):
    response = associate.post(reverse("logout"))
    assert response.status_code == 302
    assert associate.get(reverse("orders-open")).status_code == 302


# --- pages --------------------------------------------------------------------------------------------------------


def test_open_page_shows_this_stores_orders_with_their_details(associate, world):
    placed = dt.datetime(2026, 11, 27, 15, 5, tzinfo=dt.UTC)  # 10:05 in New York
    mine = world.order_here(
        lines=[(world.tee, 2)], customer_name="Grace Hopper", customer_email="grace@example.com", placed_at=placed
    )
    theirs = world.order_elsewhere(customer_name="Alan Turing")

    response = associate.get(reverse("orders-open"))

    page = text(response)
    assert response.status_code == 200
    assert mine.name in page and "Grace Hopper" in page
    assert "Red tee M" in page and "TEE-RED-M" in page and "012345678905" in page
    assert '<dd class="qty">2</dd>' in page
    assert "Fri 27 Nov 2026, 10:05 EST" in page
    assert "Standard" in page
    assert theirs.name not in page and "Alan Turing" not in page


def test_tabs_have_exact_names_and_live_counts(associate, world):
    world.order_here()
    world.order_here()
    started = world.order_here()
    orders_start_picking(facility=world.brooklyn, order_ids=[started.pk])
    world.order_elsewhere()

    page = text(associate.get(reverse("orders-open")))

    assert re.search(r'aria-label="Open".*?id="tab-count-open">2<', page)
    assert re.search(r'aria-label="In Progress".*?id="tab-count-in-progress">1<', page)
    assert re.search(r'aria-label="Completed".*?id="tab-count-completed">0<', page)
    assert 'aria-current="page"' in page


def test_pickup_orders_stand_out(associate, world):
    world.order_here(shipping_method="STORE_PICKUP", pickup_facility=world.brooklyn, name="#PICKUP1")
    page = text(associate.get(reverse("orders-open")))
    assert "card-pickup" in page and "Store pickup" in page
    assert "The customer collects this order here" in page


def test_orders_oldest_first_and_paginated_whatever_their_date(associate, world):
    world.stock_up()
    base = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # 30 dates 300 days apart, all in the sane window
    names = []
    for i in range(30):
        order = world.order_here(name=f"#P{i:03d}", placed_at=base + dt.timedelta(days=300 * (29 - i)))
        names.append(order.name)
    oldest_first = list(reversed(names))

    page1 = text(associate.get(reverse("orders-open")))
    page2 = text(associate.get(reverse("orders-open"), {"page": 2}))

    shown1 = re.findall(r'id="order-title-\d+"><a [^>]*>(#P\d+)</a>', page1)
    shown2 = re.findall(r'id="order-title-\d+"><a [^>]*>(#P\d+)</a>', page2)
    assert shown1 == oldest_first[:25]
    assert shown2 == oldest_first[25:]
    assert "Page 1 of 2" in page1 and "Next page" in page1


def test_card_shows_only_items_here_with_the_pages_status(associate, world):
    order = world.order_here(lines=[(world.tee, 1), (world.mug, 1)])
    mug_item = order.items.get(product=world.mug)
    item_reject(facility=world.brooklyn, item_id=mug_item.pk, reason_code="DAMAGED")  # the mug goes to Manhattan

    page = text(associate.get(reverse("orders-open")))

    assert "Red tee M" in page
    assert "Blue mug" not in page


def test_in_progress_and_completed_pages(associate, world):
    open_order = world.order_here(name="#OPEN1")
    picking = world.order_here(name="#PICK1")
    done = world.order_here(name="#DONE1")
    orders_start_picking(facility=world.brooklyn, order_ids=[picking.pk, done.pk])
    order_complete(facility=world.brooklyn, order_id=done.pk)

    in_progress = text(associate.get(reverse("orders-in-progress")))
    completed = text(associate.get(reverse("orders-completed")))

    assert "#PICK1" in in_progress and "#OPEN1" not in in_progress and "#DONE1" not in in_progress
    assert ">Complete</button>" in in_progress and "Report an Issue" in in_progress
    assert "#DONE1" in completed and "#PICK1" not in completed
    assert "Report an Issue" not in completed and "Reject All" not in completed
    assert open_order.name in text(associate.get(reverse("orders-open")))


def test_cards_link_to_their_order_items_and_actions(associate, world, django_assert_max_num_queries):
    placed = dt.datetime(2026, 11, 27, 15, 5, tzinfo=dt.UTC)
    order = world.order_here(lines=[(world.tee, 1), (world.mug, 1)], placed_at=placed)
    orders_start_picking(facility=world.brooklyn, order_ids=[order.pk])
    world.order_here()  # an open order: not counted on this page

    with django_assert_max_num_queries(6):  # session, user, memberships, tab counts, orders, items: no COUNT
        page = text(associate.get(reverse("orders-in-progress")))

    detail, complete = reverse("order-detail", args=[order.pk]), reverse("order-complete", args=[order.pk])
    assert f'<a href="{detail}">{order.name}</a>' in page
    assert f'action="{complete}" hx-post="{complete}"' in page
    for item in order.items.all():
        report = reverse("item-report", args=[item.pk])
        assert f'action="{report}" hx-get="{report}" hx-target="#report-{item.pk}"' in page
    assert '<time datetime="2026-11-27T15:05:00+00:00">Placed Fri 27 Nov 2026, 10:05 EST</time>' in page
    assert "1 order, oldest first." in page and "Page 1 of" not in page


def test_empty_page_says_so(associate, world):
    assert "No open orders at Brooklyn." in text(associate.get(reverse("orders-open")))


# --- search -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["#SRCH1", "srch1", "Katherine", "johnson@nasa", "MUG-BLUE", "098765432109", "blue mug"],
    ids=["order name", "order name no hash", "customer name", "customer email", "sku", "upc", "product name"],
)
def test_search_matches_each_field(associate, world, query):
    world.order_here(
        name="#SRCH1", lines=[(world.mug, 1)], customer_name="Katherine Johnson", customer_email="kjohnson@nasa.example"
    )
    world.order_here(name="#OTHER2", lines=[(world.tee, 1)], customer_name="Dorothy Vaughan")

    page = text(associate.get(reverse("orders-open"), {"q": query}))

    assert "#SRCH1" in page
    assert "#OTHER2" not in page
    assert "1 order match" in page


def test_search_does_not_reach_other_stores(associate, world):
    world.order_elsewhere(name="#THEIRS", customer_name="Mary Jackson")
    page = text(associate.get(reverse("orders-open"), {"q": "Mary Jackson"}))
    assert "#THEIRS" not in page and "No open orders here match" in page


def test_active_search_returns_only_the_list_fragment(associate, world):
    world.order_here(name="#FRAG1", customer_name="Annie Easley")
    world.order_here(name="#FRAG2")

    response = associate.get(reverse("orders-open"), {"q": "Annie"}, **hx("order-list"))

    body = text(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="order-list"')
    assert "<html" not in body and "#FRAG1" in body and "#FRAG2" not in body
    assert "HX-Request" in response["Vary"]


def test_search_without_javascript_is_a_plain_get_form(associate, world):
    world.order_here(name="#NOJS1", customer_name="Annie Easley")
    page = text(associate.get(reverse("orders-open")))
    form = re.search(r'<form class="search" method="get" action="/orders/open/" role="search">.*?</form>', page).group(0)
    assert '<label for="search-orders" class="search-label">Search orders</label>' in form
    assert 'name="q"' in form and 'type="submit"' in form
    assert 'hx-trigger="input changed delay:300ms, search"' in form and 'hx-push-url="true"' in form

    full = text(associate.get("/orders/open/?q=Easley"))
    assert "<html" in full and "#NOJS1" in full and 'value="Easley"' in full


def test_overlong_search_is_refused_with_a_message(associate, world):
    page = text(associate.get(reverse("orders-open"), {"q": "x" * 101}))
    assert "Search for at most 100 characters." in page


# --- workflow -----------------------------------------------------------------------------------------------------


def test_start_picking_one_order(associate, world):
    order = world.order_here()
    response = associate.post(reverse("orders-start-picking"), {"order_ids": [order.pk]})
    assert response.status_code == 302
    assert set(order.items.values_list("status", flat=True)) == {"IN_PROGRESS"}
    page = text(associate.get(response["Location"]))
    assert "1 order moved to In Progress." in page


def test_start_picking_selected_orders_with_htmx(associate, world):
    first, second, third = world.order_here(), world.order_here(), world.order_here()

    response = associate.post(reverse("orders-start-picking"), {"order_ids": [first.pk, second.pk]}, **hx("order-list"))

    body = text(response)
    assert response.status_code == 200
    assert OrderItem.objects.filter(status="IN_PROGRESS").count() == 2
    assert third.name in body and first.name not in body
    assert 'id="tabs" class="tabs" aria-label="Orders by status" hx-swap-oob="true"' in body
    assert 'id="tab-count-in-progress">2<' in body
    assert "2 orders moved to In Progress." in body


def test_start_picking_keeps_the_search_the_list_shows(associate, world):
    wanted = world.order_here(customer_name="Hedy Lamarr")
    other = world.order_here(customer_name="Edith Clarke")
    listed = text(associate.get(reverse("orders-open"), {"q": "Lamarr"}, **hx("order-list")))
    assert '<input type="hidden" name="q" value="Lamarr" form="pick-selected">' in listed

    body = text(associate.post(reverse("orders-start-picking"), {"order_ids": [wanted.pk], "q": "Lamarr"}, **hx("order-list")))

    assert "No open orders here match “Lamarr”." in body
    assert other.name not in body


@pytest.mark.parametrize("junk", ["abc", "-3", "0", "99999999999999999999"])
def test_start_picking_with_ids_that_cannot_be_orders_says_so(associate, world, junk):
    order = world.order_here()
    response = associate.post(reverse("orders-start-picking"), {"order_ids": [junk]}, **hx("order-list"))
    assert response.status_code == 200
    assert "Choose orders from the list." in text(response)
    assert set(order.items.values_list("status", flat=True)) == {"OPEN"}


def test_start_picking_with_nothing_selected_says_so(associate, world):
    response = associate.post(reverse("orders-start-picking"), {}, **hx("order-list"))
    assert "Select at least one order first." in text(response)


def test_start_picking_twice_says_someone_else_did(associate, world):
    order = world.order_here()
    orders_start_picking(facility=world.brooklyn, order_ids=[order.pk])
    response = associate.post(reverse("orders-start-picking"), {"order_ids": [order.pk]}, **hx("order-list"))
    assert response.status_code == 200
    assert "no open items here any more" in text(response)


def test_complete_an_in_progress_order(associate, world):
    order = world.order_here()
    orders_start_picking(facility=world.brooklyn, order_ids=[order.pk])
    response = associate.post(reverse("order-complete", args=[order.pk]), **hx("order-list"))
    assert response.status_code == 200
    assert set(order.items.values_list("status", flat=True)) == {"COMPLETED"}
    assert f"Order {order.name} is completed." in text(response)
    assert qoh_atp(world.brooklyn, world.tee) == (19, 19)  # the unit left the shelf


# --- order detail ("Why here?") --------------------------------------------------------------------------------


def test_order_detail_shows_items_rejections_and_why_here(associate, world):
    order = world.order_here(lines=[(world.tee, 1)])
    item = order.items.get()
    item_reject(facility=world.brooklyn, item_id=item.pk, reason_code="DAMAGED", comment="Torn seam", user=world.associate)

    page = text(associate.get(reverse("order-detail", args=[order.pk])))

    assert f"Order {order.name}" in page
    assert "Where it is" in page and "Manhattan" in page
    assert "rejected at <strong>Brooklyn</strong> — Damaged by bk_associate" in page
    assert "Torn seam" in page
    assert "<caption>Why here?</caption>" in page
    for header in ("Facility", "Distance km", "Routable ATP", "Reason", "Chosen"):
        assert re.search(rf'<th scope="col"[^>]*>{header}</th>', page)
    table = page[page.rindex("<caption>Why here?</caption>"):]
    assert "Manhattan" in table and "NJ Warehouse" in table and "Brooklyn" in table
    assert "<strong>Yes</strong>" in table


# --- Report an Issue ----------------------------------------------------------------------------------------------


def test_report_form_offers_active_reasons_and_states_the_effect(associate, world):
    item = world.order_here().items.get()

    response = associate.get(reverse("item-report", args=[item.pk]), **hx(f"report-{item.pk}"))

    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert f'<label for="id_reason_{item.pk}">Reason</label>' in body
    labels = re.findall(r'<option value="(\w+)"', body)
    assert labels == ["NOT_IN_STOCK", "MISMATCH", "DAMAGED", "WORN_DISPLAY", "INACTIVE_STORE"]
    assert 'name="quantity" value="1"' in body and 'max="1"' in body
    assert "Before you save: at Brooklyn" in body
    assert "on hand 20 -> 0; reserved 1 -> 0; unsellable stays 0; available 19 -> 0" in body  # the first reason, Not in stock
    assert ">Save</button>" in body


def test_effect_preview_follows_reason_and_quantity(associate, world):
    item = world.order_here(lines=[(world.tee, 3)]).items.get()  # Brooklyn: QOH 20, ATP 17

    damaged = text(associate.get(reverse("item-report-preview", args=[item.pk]), {"reason": "DAMAGED", "quantity": 2}, **HX))
    mismatch = text(associate.get(reverse("item-report-preview", args=[item.pk]), {"reason": "MISMATCH", "quantity": 3}, **HX))
    inactive = text(associate.get(reverse("item-report-preview", args=[item.pk]), {"reason": "INACTIVE_STORE"}, **HX))

    assert "on hand stays 20; reserved 3 -> 1; unsellable 0 -> 2; available stays 17: 2 units counted as unsellable" in damaged
    assert "The line is split: 2 of 3 units leave this store; 1 stays here" in damaged
    assert "on hand 20 -> 17; reserved 3 -> 0; unsellable stays 0; available stays 17" in mismatch
    assert "on hand stays 20; reserved 3 -> 0; unsellable stays 0; available 17 -> 20" in inactive
    for label, before, after in [("On hand (QOH)", 20, 20), ("Reserved", 3, 1), ("Unsellable", 0, 2), ("Available (ATP)", 17, 17)]:
        assert f"<dt>{label}</dt><dd>{before} → <strong>{after}</strong></dd>" in damaged


def test_preview_names_the_policy_consequences(associate, world):
    RejectionPolicy.objects.filter(facility__isnull=True).update(allow_partial_order_rejection=False, cascade_not_in_stock=True)
    order = world.order_here(lines=[(world.tee, 1), (world.mug, 1), (world.mug, 2)])
    world.order_here(lines=[(world.tee, 1)])
    world.order_here(lines=[(world.tee, 1)])
    tee = order.items.get(product=world.tee)

    body = text(associate.get(reverse("item-report-preview", args=[tee.pk]), {"reason": "NOT_IN_STOCK"}, **HX))

    assert "The order's 2 other items here will be rejected too" in body
    assert "2 other open items of this product here will be rejected too." in body


def test_preview_says_when_the_policy_moves_the_rest_of_a_split_line(associate, world):
    RejectionPolicy.objects.filter(facility__isnull=True).update(allow_partial_order_rejection=False)
    item = world.order_here(lines=[(world.tee, 3)]).items.get()

    body = text(associate.get(reverse("item-report-preview", args=[item.pk]), {"reason": "DAMAGED", "quantity": 1}, **HX))

    assert "The other 2 units of this line will be rejected too" in body
    assert "stay here" not in body


def test_preview_of_an_item_that_moved_on_answers_409_like_the_save(associate, world):
    item = world.order_here().items.get()
    item_reject(facility=world.brooklyn, item_id=item.pk, reason_code="DAMAGED", quantity=1, comment="", user=world.manager)
    preview_url = reverse("item-report-preview", args=[item.pk])

    preview = associate.get(preview_url, {"reason": "MISMATCH", "quantity": 1}, **HX)
    save = associate.post(reverse("item-report", args=[item.pk]), {"reason": "MISMATCH", "quantity": 1}, **HX)

    assert preview.status_code == save.status_code == 409
    assert "no longer open at this store" in text(preview)
    assert "QOH" not in text(preview)  # no statement about stock for an item that is not here
    assert preview["HX-Retarget"] == save["HX-Retarget"] == f"#item-{item.pk}"
    assert Rejection.objects.count() == 1
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_report_an_issue_removes_the_item_and_updates_counts(associate, world):
    order = world.order_here(lines=[(world.tee, 1)])
    other = world.order_here()
    item = order.items.get()

    response = associate.post(
        reverse("item-report", args=[item.pk]), {"reason": "DAMAGED", "quantity": 1, "comment": "Stained"}, **hx(f"report-{item.pk}")
    )

    body = text(response)
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert f'<div id="item-{item.pk}" hx-swap-oob="delete"></div>' in body
    assert f'<div id="order-{order.pk}" hx-swap-oob="delete"></div>' in body
    assert f'id="order-{other.pk}"' not in body
    assert 'id="tab-count-open">1<' in body
    assert '<div id="messages" class="messages" role="status" aria-live="polite" hx-swap-oob="true">' in body
    assert "Manhattan" in body  # where it went
    item.refresh_from_db()
    assert item.facility == world.manhattan and item.status == "OPEN"
    rejection = Rejection.objects.get()
    assert (rejection.reason.code, rejection.comment, rejection.rejected_by) == ("DAMAGED", "Stained", world.associate)
    assert qoh_atp(world.brooklyn, world.tee) == (20, 18)  # ATP 18 (two reserved): released 19, one unsellable 18
    assert qoh_atp(world.manhattan, world.tee) == (20, 19)


def test_rejecting_one_item_keeps_the_card_while_other_items_remain(associate, world):
    order = world.order_here(lines=[(world.tee, 1), (world.mug, 1)])
    tee = order.items.get(product=world.tee)

    body = text(associate.post(reverse("item-report", args=[tee.pk]), {"reason": "MISMATCH", "quantity": 1}, **HX))

    assert f'<div id="item-{tee.pk}" hx-swap-oob="delete"></div>' in body
    assert f'id="order-{order.pk}"' not in body
    assert qoh_atp(world.brooklyn, world.tee) == (19, 19)


def test_partial_quantity_splits_the_line_and_the_rest_stays(associate, world):
    item = world.order_here(lines=[(world.tee, 3)]).items.get()

    body = text(associate.post(reverse("item-report", args=[item.pk]), {"reason": "DAMAGED", "quantity": 2}, **HX))

    item.refresh_from_db()
    assert item.quantity == 1 and item.facility == world.brooklyn
    assert f'<li id="item-{item.pk}" class="item" hx-swap-oob="true">' in body
    assert '<dd class="qty">1</dd>' in body
    assert f'action="{reverse("item-report", args=[item.pk])}"' in body  # the rest can still be reported
    assert f'<div id="order-{item.order_id}" hx-swap-oob="delete">' not in body  # the card stays
    part = OrderItem.objects.get(split_from=item)
    assert part.quantity == 2 and part.facility == world.manhattan


def test_report_without_javascript_redirects_with_the_message(associate, world):
    item = world.order_here().items.get()
    page = text(associate.get(reverse("item-report", args=[item.pk])))
    assert "<html" in page and 'href="/orders/open/">Cancel</a>' in page

    response = associate.post(reverse("item-report", args=[item.pk]), {"reason": "NOT_IN_STOCK", "quantity": 1}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("orders-open")
    assert "Manhattan" in text(response)
    assert qoh_atp(world.brooklyn, world.tee) == (0, 0)


def test_rejecting_an_already_rejected_item_is_a_clear_conflict(associate, world):
    item = world.order_here().items.get()
    item_reject(facility=world.brooklyn, item_id=item.pk, reason_code="DAMAGED")  # a colleague got there first
    before = qoh_atp(world.brooklyn, world.tee), qoh_atp(world.manhattan, world.tee)

    response = associate.post(reverse("item-report", args=[item.pk]), {"reason": "DAMAGED", "quantity": 1}, **HX)

    assert response.status_code == 409
    assert response["HX-Retarget"] == f"#item-{item.pk}"
    assert "no longer open at this store" in text(response)
    assert Rejection.objects.count() == 1
    assert (qoh_atp(world.brooklyn, world.tee), qoh_atp(world.manhattan, world.tee)) == before


def test_conflict_raised_by_the_service_is_shown(associate, world, monkeypatch):
    from fulfillment import services
    from fulfillment.errors import ItemConflict

    item = world.order_here().items.get()

    def raced(**kwargs):
        raise ItemConflict("#X: this item is no longer at Brooklyn — someone already rejected or moved it.")

    monkeypatch.setattr(services, "item_reject", raced)
    response = associate.post(reverse("item-report", args=[item.pk]), {"reason": "DAMAGED", "quantity": 1}, **HX)
    assert response.status_code == 409 and "someone already rejected or moved it" in text(response)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"reason": "DAMAGED", "quantity": 5}, "This line has only 1 unit(s)"),
        ({"reason": "DAMAGED", "quantity": 0}, "greater than or equal to 1"),
        ({"reason": "DAMAGED", "quantity": "two"}, "Enter a whole number with the digits 0-9."),
        ({"reason": "DAMAGED", "quantity": "١"}, "Enter a whole number with the digits 0-9."),
        ({"reason": "DAMAGED", "quantity": "1_0"}, "Enter a whole number with the digits 0-9."),
        ({"reason": "DAMAGED", "quantity": "99999999999999999999"}, "less than or equal to 2147483647"),
        ({"reason": "REJ_AVOID_ORD_SPLIT", "quantity": 1}, "Choose one of the listed reasons."),
        ({"reason": "NOPE", "quantity": 1}, "Choose one of the listed reasons."),
    ],
)
def test_bad_report_input_gets_a_message_and_changes_nothing(associate, world, data, message):
    item = world.order_here().items.get()
    response = associate.post(reverse("item-report", args=[item.pk]), data, **HX)
    assert response.status_code == 422
    assert message in text(response)
    assert not Rejection.objects.exists()
    assert qoh_atp(world.brooklyn, world.tee) == (20, 19)


def test_completed_item_cannot_be_reported(associate, world):
    order = world.order_here()
    orders_start_picking(facility=world.brooklyn, order_ids=[order.pk])
    order_complete(facility=world.brooklyn, order_id=order.pk)
    item = order.items.get()
    response = associate.get(reverse("item-report", args=[item.pk]), **HX)
    assert response.status_code == 409 and "no longer open at this store" in text(response)


# --- Reject All ---------------------------------------------------------------------------------------------------


def test_reject_all_button_only_for_managers(client, world):
    world.order_here()
    client.force_login(world.associate)
    assert "Reject All" not in text(client.get(reverse("orders-open")))
    client.force_login(world.manager)
    assert ">Reject All</button>" in text(client.get(reverse("orders-open")))
    assert ">Reject All</button>" in text(client.get(reverse("orders-in-progress")))


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("url_name", ["reject-all-open", "reject-all-in-progress"])
def test_associate_cannot_reject_all(associate, world, method, url_name):
    world.order_here()
    response = getattr(associate, method)(reverse(url_name), {"reason": "INACTIVE_STORE"}, **HX)
    assert response.status_code == 403
    assert "Only a store manager can reject all orders." in text(response)
    assert not BulkRejection.objects.exists()
    assert not Rejection.objects.exists()


def test_reject_all_confirmation_states_exact_counts(manager, world):
    world.order_here(lines=[(world.tee, 1), (world.mug, 1)])
    world.order_here()
    world.order_elsewhere()

    body = text(manager.get(reverse("reject-all-open"), **hx("reject-all-panel")))

    assert "<strong>2 orders</strong> with <strong>3 items</strong>" in body
    assert re.search(r'<option value="INACTIVE_STORE" selected>', body)
    assert "Stop routing new orders to this store" in body
    assert "Yes, reject 3 items" in body


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # enqueued on commit, as in production
def test_reject_all_runs_and_shows_the_summary(manager, world):
    world.order_here(lines=[(world.tee, 1), (world.mug, 1)])
    world.order_here()
    untouched = world.order_elsewhere()

    response = manager.post(
        reverse("reject-all-open"), {"reason": "INACTIVE_STORE", "stop_routing": "on"}, **hx("reject-all-panel")
    )

    body = text(response)
    bulk = BulkRejection.objects.get()
    assert bulk.state == "DONE" and bulk.requested_by == world.manager
    assert "Reject All finished" in body
    assert "<dt>Rejected</dt><dd>3 items</dd>" in body
    assert "<dt>Re-routed</dt><dd>3 items</dd>" in body
    assert "<dt>Parked</dt><dd>0 items" in body
    assert "Manhattan" in body  # re-routed per facility
    assert '<section id="order-list" class="order-list" aria-label="Open orders" hx-swap-oob="true">' in body
    assert "No open orders at Brooklyn." in body
    assert 'id="tab-count-open">0<' in body
    assert "every 1s" not in body  # finished: no more polling
    assert not OrderItem.objects.filter(facility=world.brooklyn, status="OPEN").exists()
    assert untouched.items.get().facility == world.manhattan
    world.brooklyn.refresh_from_db()
    assert world.brooklyn.allows_routing is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # enqueued on commit, as in production
def test_reject_all_without_javascript_redirects_to_the_summary_page(manager, world):
    world.order_here()
    response = manager.post(reverse("reject-all-open"), {"reason": "INACTIVE_STORE"}, follow=True)
    bulk = BulkRejection.objects.get()
    assert response.redirect_chain[-1][0] == reverse("bulk-rejection", args=[bulk.pk])
    assert "Reject All finished" in text(response)
    world.brooklyn.refresh_from_db()
    assert world.brooklyn.allows_routing is True


def test_bulk_rejection_status_polls_until_finished(manager, world):
    bulk = BulkRejection.objects.create(
        facility=world.brooklyn, from_status="OPEN", reason=reason("INACTIVE_STORE"), total_items=10, processed_items=4,
        state=BulkRejection.State.RUNNING,
    )
    body = text(manager.get(reverse("bulk-rejection", args=[bulk.pk]), **HX))
    assert 'hx-trigger="every 1s"' in body and 'value="40"' in body and "4 of 10 items done" in body

    BulkRejection.objects.filter(pk=bulk.pk).update(state="DONE", processed_items=10, rejected_items=10, rerouted={"MANHATTAN": 10})
    body = text(manager.get(reverse("bulk-rejection", args=[bulk.pk]), **HX))
    assert "every 1s" not in body and "Reject All finished" in body and "Manhattan" in body


def test_reject_all_with_nothing_to_reject(manager, world):
    body = text(manager.get(reverse("reject-all-in-progress"), **HX))
    assert "There is nothing to reject" in body


# --- store scope: another store's ids are a 404, and nothing changes --------------------------------------------------


@pytest.fixture
def theirs(world):
    order = world.order_elsewhere(lines=[(world.tee, 1), (world.mug, 1)])
    picking = world.order_elsewhere()
    orders_start_picking(facility=world.manhattan, order_ids=[picking.pk])
    bulk = BulkRejection.objects.create(facility=world.manhattan, from_status="OPEN", reason=reason("INACTIVE_STORE"))
    return {"order": order, "item": order.items.first(), "picking": picking, "bulk": bulk}


SCOPE_REQUESTS = [
    ("get", lambda t: reverse("order-detail", args=[t["order"].pk]), {}),
    ("post", lambda t: reverse("order-complete", args=[t["picking"].pk]), {}),
    ("post", lambda t: reverse("orders-start-picking"), lambda t: {"order_ids": [t["order"].pk]}),
    ("get", lambda t: reverse("item-report", args=[t["item"].pk]), {}),
    ("post", lambda t: reverse("item-report", args=[t["item"].pk]), {"reason": "NOT_IN_STOCK", "quantity": 1}),
    ("get", lambda t: reverse("item-report-preview", args=[t["item"].pk]), {"reason": "DAMAGED"}),
    ("get", lambda t: reverse("bulk-rejection", args=[t["bulk"].pk]), {}),
    ("post", lambda t: reverse("facility-switch"), lambda t: {"facility": t["order"].items.first().facility_id}),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("method, url, data", SCOPE_REQUESTS, ids=[
    "order detail", "complete", "start picking", "report form", "report save", "preview", "bulk status", "switch store",
])
def test_another_stores_ids_are_404_and_change_nothing(client, world, theirs, method, url, data, htmx):
    client.force_login(world.manager)  # even a manager of Brooklyn
    statuses = list(OrderItem.objects.order_by("pk").values_list("status", "facility_id"))
    levels = list(InventoryLevel.objects.order_by("pk").values_list("quantity_on_hand", "available_to_promise"))

    payload = data(theirs) if callable(data) else data
    response = getattr(client, method)(url(theirs), payload, **(HX if htmx else {}))

    assert response.status_code == 404
    assert list(OrderItem.objects.order_by("pk").values_list("status", "facility_id")) == statuses
    assert list(InventoryLevel.objects.order_by("pk").values_list("quantity_on_hand", "available_to_promise")) == levels
    assert not Rejection.objects.exists()


def test_start_picking_mixing_own_and_other_store_orders_is_404(associate, world, theirs):
    mine = world.order_here()
    response = associate.post(reverse("orders-start-picking"), {"order_ids": [mine.pk, theirs["order"].pk]})
    assert response.status_code == 404
    assert mine.items.get().status == "OPEN"


def test_unknown_ids_are_404(associate, world):
    for url in ("/orders/999999/", "/items/999999/report/", "/bulk-rejections/999999/"):
        assert associate.get(url).status_code == 404


# --- several stores: the switcher ---------------------------------------------------------------------------------


def test_switcher_for_users_of_several_stores(client, world):
    floater = UserFactory(username="floater")
    MembershipFactory(user=floater, facility=world.brooklyn)
    MembershipFactory(user=floater, facility=world.manhattan)
    world.order_here(name="#BK1")
    world.order_elsewhere(name="#MH1")
    client.force_login(floater)

    page = text(client.get(reverse("orders-open")))
    assert 'id="store-switch-select"' in page and "#BK1" in page and "#MH1" not in page

    response = client.post(reverse("facility-switch"), {"facility": world.manhattan.pk}, follow=True)
    page = text(response)
    assert "You are now working at Manhattan." in page
    assert "#MH1" in page and "#BK1" not in page
    assert "#MH1" in text(client.get(reverse("orders-open")))  # remembered in the session


def test_single_store_user_has_no_switcher(associate, world):
    assert 'id="store-switch-select"' not in text(associate.get(reverse("orders-open")))


# --- CSRF -----------------------------------------------------------------------------------------------------------


def test_csrf_is_enforced_on_htmx_posts(world):
    item = world.order_here().items.get()
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(world.associate)

    refused = csrf_client.post(reverse("item-report", args=[item.pk]), {"reason": "DAMAGED", "quantity": 1}, **HX)
    assert refused.status_code == 403
    assert not Rejection.objects.exists()

    page = text(csrf_client.get(reverse("orders-open")))
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    accepted = csrf_client.post(
        reverse("item-report", args=[item.pk]), {"reason": "DAMAGED", "quantity": 1}, HTTP_X_CSRFTOKEN=token, **HX
    )
    assert accepted.status_code == 200
    assert Rejection.objects.count() == 1


# --- query counts: constant in the number of orders -------------------------------------------------------------


def _orders(world, n, picking=False):
    world.stock_up()
    orders = [world.order_here(lines=[(world.tee, 1), (world.mug, 1)]) for _ in range(n)]
    if picking:
        orders_start_picking(facility=world.brooklyn, order_ids=[o.pk for o in orders])
    return orders


PAGE_BUDGET = 9  # session, user, memberships, tab counts, paginator count (searches only), orders, items (+ headroom)


@pytest.mark.parametrize("n", [5, 50])
@pytest.mark.parametrize(
    "url_name, params, picking",
    [
        ("orders-open", {}, False),
        ("orders-in-progress", {}, True),
        ("orders-open", {"q": "Red tee"}, False),
        ("orders-completed", {}, False),
    ],
    ids=["open", "in progress", "search", "completed"],
)
def test_page_queries_do_not_grow_with_orders(manager, world, django_assert_max_num_queries, n, url_name, params, picking):
    _orders(world, n, picking=picking)
    with django_assert_max_num_queries(PAGE_BUDGET):
        response = manager.get(reverse(url_name), params)
    assert response.status_code == 200


@pytest.mark.parametrize("n", [5, 30])
@pytest.mark.parametrize("page", [1, 2])
def test_in_progress_page_runs_six_queries_whatever_the_orders_and_page(manager, world, django_assert_num_queries, n, page):
    _orders(world, n, picking=True)
    # session, user, memberships, tab counts (they also count the pages: no COUNT query), the page's orders, their items
    with django_assert_num_queries(6):
        response = manager.get(reverse("orders-in-progress"), {"page": page})
    assert response.status_code == 200
    shown = re.findall(r'id="order-title-\d+"', text(response))
    assert len(shown) == (n - 25 if page == 2 and n > 25 else min(n, 25))  # page 2 of one page: the last page


@pytest.mark.parametrize("n", [5, 30])
def test_htmx_search_runs_seven_queries_whatever_the_orders(associate, world, django_assert_num_queries, n):
    _orders(world, n)
    # session, user, memberships, tab counts, the matches' count, the page's orders, their items (no Today panel)
    with django_assert_num_queries(7):
        response = associate.get(reverse("orders-open"), {"q": "red TEE"}, **hx("order-list"))
    assert f"{n} orders match" in text(response)


@pytest.mark.parametrize("n", [5, 50])
def test_htmx_search_and_rejection_queries_do_not_grow_with_orders(associate, world, django_assert_max_num_queries, n):
    orders = _orders(world, n)
    with django_assert_max_num_queries(PAGE_BUDGET):
        associate.get(reverse("orders-open"), {"q": "Blue"}, **hx("order-list"))
    item = orders[0].items.first()
    with django_assert_max_num_queries(12):
        associate.get(reverse("item-report", args=[item.pk]), **HX)
    # the Save with the rejection service and re-routing: on PostgreSQL 17 statements (the service's 9, 4 to know who
    # asks and about which item, 4 for the fragments: the order's rows, tab counts, Today panel) + the SAVEPOINT pair
    # the test's transaction adds; SQLite sends the service's writes one by one (5 more)
    with django_assert_max_num_queries(19 if connection.vendor == "postgresql" else 24):
        response = associate.post(reverse("item-report", args=[item.pk]), {"reason": "DAMAGED", "quantity": 1}, **HX)
    assert response.status_code == 200 and Rejection.objects.count() == 1


@pytest.mark.parametrize("n", [5, 50])
def test_reject_all_confirmation_queries_do_not_grow(manager, world, django_assert_max_num_queries, n):
    _orders(world, n)
    with django_assert_max_num_queries(6):
        response = manager.get(reverse("reject-all-open"), **HX)
    assert f"<strong>{n} orders</strong>" in text(response)
