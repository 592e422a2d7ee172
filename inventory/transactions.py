"""How a service says which transaction it runs in, the same way in every app:

- a service that is one transaction is decorated ``@transaction.atomic``;
- a service that runs several (batches, or a routing after a receipt commits) opens each with
  ``with transaction.atomic():`` and says so in its docstring;
- a service that writes as part of its caller's transaction is decorated ``@transaction_required``: it fails at once
  when called outside one, instead of committing half of a change.
"""

from functools import wraps

from django.db import transaction


class TransactionRequired(RuntimeError):
    pass


def transaction_required(service):
    """``service`` runs inside its caller's transaction (it owns none): calling it outside one raises."""

    @wraps(service)
    def checked(*args, **kwargs):
        if not transaction.get_connection().in_atomic_block:
            raise TransactionRequired(f"{service.__qualname__} writes as part of its caller's transaction: call it inside transaction.atomic()")
        return service(*args, **kwargs)

    return checked
