"""The signed link of a pickup choice (django.core.signing): it names the choice, carries when it was made, and is
useless once tampered with. Used once and expiry are checked against the PickupChoice record and the setting."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "fulfillment.pickup-choice"


class LinkTampered(Exception):
    """The token was not signed by us (edited, truncated, made up)."""


class LinkExpired(Exception):
    """Signed by us, but older than PICKUP_CHOICE_LINK_DAYS."""


def pickup_choice_token(choice_id: int) -> str:
    return signing.dumps(choice_id, salt=SALT, compress=False)


def pickup_choice_url(choice_id: int) -> str:
    """The absolute URL the customer's email links to."""
    return settings.SITE_URL + reverse("pickup-choice", args=[pickup_choice_token(choice_id)])


def pickup_choice_id_from(token: str) -> int:
    """The choice id a token names; raises LinkTampered or LinkExpired."""
    max_age = settings.PICKUP_CHOICE_LINK_DAYS * 24 * 3600
    try:
        choice_id = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise LinkTampered from exc
    if not isinstance(choice_id, int) or isinstance(choice_id, bool) or choice_id < 1:
        raise LinkTampered
    return choice_id
