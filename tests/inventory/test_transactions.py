"""A service that writes inside its caller's transaction refuses to run outside one."""

import pytest
from django.db import transaction

from inventory.transactions import TransactionRequired, transaction_required


@transaction_required
def part_of_a_change(value):
    return value


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_raises_inside_it_runs():
    with pytest.raises(TransactionRequired, match="part_of_a_change writes as part of its caller's transaction"):
        part_of_a_change(1)
    with transaction.atomic():
        assert part_of_a_change(2) == 2


@pytest.mark.django_db(transaction=True)
def test_the_customer_choice_and_roll_up_writers_require_their_callers_transaction():
    from fulfillment.services.customer_choice import items_cancel_parked, pickup_choices_offer
    from fulfillment.services.reports import routed_units_add

    for service, kwargs in (
        (pickup_choices_offer, {"outcomes": []}),
        (items_cancel_parked, {"items": [], "trigger": "", "summaries": {}}),
        (routed_units_add, {"session": None, "items": [], "plans": [], "writes": None}),
    ):
        with pytest.raises(TransactionRequired):
            service(**kwargs)
