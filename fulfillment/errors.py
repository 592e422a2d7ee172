"""Errors a user can cause: each carries a message they can act on (views show it; commands print it)."""


class FulfillmentError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ItemConflict(FulfillmentError):
    """The item is no longer where the user saw it: already rejected, moved, completed, or at another facility."""


class AlreadyDone(ItemConflict):
    """The item is still here but no longer as the user saw it (a partial rejection was saved meanwhile, perhaps this
    very Save sent twice): nothing was changed."""


class InvalidRequest(FulfillmentError):
    """The request itself is wrong: unknown reason, bad quantity, wrong status."""


class ChoiceClosed(FulfillmentError):
    """A customer's pickup-choice link that can no longer be used: already used, replaced, or its item handled."""
