"""Background work (django.tasks): the immediate backend in development and tests, django-tasks-db in production."""

from django.tasks import task


@task()
def bulk_rejection_run(bulk_rejection_id: int) -> int:
    from .services import bulk_rejection_execute

    bulk = bulk_rejection_execute(bulk_rejection_id=bulk_rejection_id)
    return bulk.rejected_items
