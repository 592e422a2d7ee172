"""The customer's pickup choice in a real browser: the associate rejects a pickup item, the customer opens the link
from the email on a phone, picks another store, and the item is on that store's Open tab. Writes the README screenshot."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, PHONE, SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_customer_chooses_another_store_from_the_email_and_the_store_sees_it(new_page, login, shop, live_server):
    from django.conf import settings

    from fulfillment.models import OrderItem
    from tests.factories import MembershipFactory, UserFactory

    order = shop.orders[1]  # #10043, Katherine Johnson: a hoodie to pick up at Brooklyn
    item = order.items.get()
    assert item.facility == shop.brooklyn
    mail.outbox.clear()

    # The Brooklyn associate cannot find the hoodie.
    associate = new_page()
    login(associate, "associate")
    row = associate.locator(f"#item-{item.pk}")
    row.get_by_role("button", name="Report an Issue").click()
    expect(row.get_by_label("Reason")).to_be_focused()  # htmx has settled the form (app.js focuses it)
    row.get_by_label("Reason").select_option(label="Not in stock")
    row.get_by_role("button", name="Save").click()
    expect(associate.locator("#messages")).to_contain_text("parked")

    # Katherine's email: one message with a link.
    assert [m.to for m in mail.outbox] == [["katherine@example.com"]]
    link = re.search(r"https?://\S+/pickup-choice/\S+/", mail.outbox[0].body).group(0)
    link = link.replace(settings.SITE_URL, live_server.url)

    phone = new_page(PHONE)
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Your item from order #10043")).to_be_visible()
    stores = phone.get_by_role("group", name="Stores that have it now, nearest to you first")
    manhattan = stores.get_by_role("radio", name=re.compile("Manhattan"))
    expect(manhattan).to_be_visible()
    expect(stores).to_contain_text("km away")
    expect(phone.get_by_role("button", name="Ship to my address instead")).to_be_visible()
    expect(phone.get_by_role("button", name="Cancel this item")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling on a phone
    phone.screenshot(path=str(SCREENSHOTS / "pickup-choice-phone.png"), full_page=True)

    manhattan.check()
    phone.get_by_role("button", name="Pick up at another store").click()
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(phone.locator("main")).to_contain_text("ready for pickup at Manhattan")
    phone.screenshot(path=str(SCREENSHOTS / "pickup-choice-done-phone.png"), full_page=True)

    # The link works once.
    phone.goto(link)
    expect(phone.get_by_role("heading", name="This link was already used")).to_be_visible()

    item = OrderItem.objects.get(pk=item.pk)
    assert (item.status, item.facility) == ("OPEN", shop.manhattan)

    # Manhattan's associate finds it on the Open tab.
    MembershipFactory(user=UserFactory(username="manhattan", password=PASSWORD), facility=shop.manhattan)
    store = new_page()
    login(store, "manhattan")
    expect(store.locator(f"#item-{item.pk}")).to_be_visible()
    expect(store.locator(f"#order-{order.pk}")).to_contain_text("Katherine Johnson")
