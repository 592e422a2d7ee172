import pytest

from tests.factories import FacilityFactory
from tests.fulfillment.services.world import BROOKLYN, MANHATTAN, STAMFORD


@pytest.fixture
def stores():
    """Brooklyn, Manhattan and Stamford (BROOKLYN, MANHATTAN, STAMFORD in world.py)."""
    brooklyn = FacilityFactory(code="BROOKLYN", latitude=BROOKLYN[0], longitude=BROOKLYN[1])
    manhattan = FacilityFactory(code="MANHATTAN", latitude=MANHATTAN[0], longitude=MANHATTAN[1])
    stamford = FacilityFactory(code="STAMFORD", latitude=STAMFORD[0], longitude=STAMFORD[1])
    return brooklyn, manhattan, stamford
