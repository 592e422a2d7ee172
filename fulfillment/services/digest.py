"""The operations digest: one email per recipient per day (a repeat run sends nothing twice)."""

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .. import selectors
from ..errors import InvalidRequest
from ..models import Notification
from .customer_choice import notifications_queue


@dataclass
class DigestResult:
    facts: dict
    sent_to: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)


@transaction.atomic
def digest_send(*, day: date, recipients: list[str], dry_run: bool = False, today: date | None = None) -> DigestResult:
    """Email the digest of `day` to each recipient that has not had it yet (sent on commit). `dry_run`: nothing sent."""
    recipients = list(dict.fromkeys(r.strip() for r in recipients if r.strip()))
    if not recipients:
        raise InvalidRequest("No recipients: pass --to EMAIL (or set OPERATIONS_DIGEST_TO).")
    bad = []
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise InvalidRequest(f"Not an email address: {', '.join(bad)}.")
    if today is not None and day >= today:
        raise InvalidRequest(f"{day.isoformat()} is not over yet: the digest reports on a past day (default: yesterday).")
    facts = selectors.operations_digest(day=day)
    result = DigestResult(facts=facts)
    done = set(
        Notification.objects.filter(kind=Notification.Kind.DIGEST, digest_date=day, recipient__in=recipients).values_list(
            "recipient", flat=True
        )
    )
    result.already_sent = [r for r in recipients if r in done]
    result.sent_to = [r for r in recipients if r not in done]
    if not dry_run:
        notifications_queue([
            Notification(kind=Notification.Kind.DIGEST, recipient=r, digest_date=day, context=facts,
                         subject=f"Operations digest for {day:%a %d %b %Y}: {facts['rejected_items']} rejected, "
                                 f"{facts['parked_total']} parked, {facts['waiting_total']} waiting for the customer")
            for r in result.sent_to
        ])
    return result
