"""The django.tasks tasks, thin: the Reject All job (it calls `services.bulk_rejection_execute`), and email: a task that
loads one Notification, renders its plain-text and HTML templates and sends it with Django's email framework. Services enqueue it with transaction.on_commit, so a rolled-back change
sends nothing and a failed send never undoes the change. This module imports models only at import time (services import it to enqueue); the job imports its service when it
runs.

A failed send records the error and is retried up to NOTIFICATION_SEND_ATTEMPTS times: after
NOTIFICATION_RETRY_SECONDS with a backend that can defer (django-tasks-db), at once with the immediate backend.
"""

import logging
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone

from inventory.validators import single_line

from .models import Notification

logger = logging.getLogger(__name__)
SUBJECT_MAX_LENGTH = Notification._meta.get_field("subject").max_length
TEMPLATES = {
    Notification.Kind.PICKUP_REJECTED: "emails/pickup_rejected",
    Notification.Kind.ITEM_CANCELLED: "emails/item_cancelled",
    Notification.Kind.CHOICE_CONFIRMED: "emails/choice_confirmed",
    Notification.Kind.DIGEST: "emails/digest",
}


def notifications_enqueue(notification_ids) -> None:
    """Hand each notification to the task (call this from transaction.on_commit).

    A backend that stores its tasks (django-tasks-db) gets them in one transaction: a Reject All batch that parks 150
    pickup items commits its 150 emails' tasks once, not 150 times. The immediate backend sends each on its own."""
    stores_tasks = notification_send.get_backend().supports_defer
    with transaction.atomic() if stores_tasks else nullcontext():
        for notification_id in notification_ids:
            notification_send.enqueue(notification_id)


def render_email(notification: Notification) -> tuple[str, str]:
    """(plain text, HTML) of a notification."""
    name = TEMPLATES[notification.kind]
    context = {**notification.context, "subject": notification.subject, "contact_email": settings.CUSTOMER_SERVICE_EMAIL}
    return render_to_string(f"{name}.txt", context), render_to_string(f"{name}.html", context)


@task()
def notification_send(notification_id: int) -> str:
    """Send one notification once: a QUEUED -> SENDING claim makes a second worker (or a repeat) a no-op."""
    claimed = Notification.objects.filter(pk=notification_id, status=Notification.Status.QUEUED).update(
        status=Notification.Status.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not queued"
    notification = Notification.objects.get(pk=notification_id)
    try:
        text, html = render_email(notification)
        # one line: a subject stored before names were checked may hold a line break, which no email header can
        subject = single_line(notification.subject, SUBJECT_MAX_LENGTH)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [notification.recipient])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:  # recorded on the notification; the business change it reports stays committed
        logger.warning("Notification %s failed (attempt %s): %s", notification_id, notification.attempts, exc)
        retry = notification.attempts < settings.NOTIFICATION_SEND_ATTEMPTS
        Notification.objects.filter(pk=notification_id).update(
            status=Notification.Status.QUEUED if retry else Notification.Status.FAILED,
            error=f"Attempt {notification.attempts}: {type(exc).__name__}: {exc}"[:2000],
        )
        if retry:
            if notification_send.get_backend().supports_defer:
                notification_send.using(
                    run_after=timezone.now() + timedelta(seconds=settings.NOTIFICATION_RETRY_SECONDS)
                ).enqueue(notification_id)
            else:
                notification_send.enqueue(notification_id)
        return "retrying" if retry else "failed"
    Notification.objects.filter(pk=notification_id).update(status=Notification.Status.SENT, sent_at=timezone.now(), error="")
    return "sent"


@task()
def bulk_rejection_run(bulk_rejection_id: int) -> int:
    """The Reject All job: the immediate backend in development and tests, django-tasks-db (`run_worker`) in production.
    Claim, lease, batches and resume live in the service."""
    from .services.reject_all import bulk_rejection_execute  # services import this module to enqueue

    return bulk_rejection_execute(bulk_rejection_id=bulk_rejection_id).rejected_items
