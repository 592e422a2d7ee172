"""The small world the service tests share: three stores around a Brooklyn ship-to address, and placing an order there."""

from functools import partial

from tests import support

# Brooklyn (the ship-to is here), Manhattan ~8 km, Stamford ~55 km
BROOKLYN = (40.6782, -73.9442)
MANHATTAN = (40.7549, -73.9840)
STAMFORD = (41.0534, -73.5387)

place = partial(support.place, at=BROOKLYN)
