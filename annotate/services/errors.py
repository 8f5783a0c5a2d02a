"""Errors the core services raise; views and the API turn them into 4xx answers."""


class ServiceError(Exception):
    """Base class: the message is safe to show to the person who made the request."""


class NotFound(ServiceError):
    """The object does not exist or belongs to someone else (answer 404, say nothing)."""


class CampaignNotOpen(ServiceError):
    pass


class AnnotatorPaused(ServiceError):
    pass


class LeaseExpired(ServiceError):
    """The lease ran out and the item's slots were taken by others meanwhile."""


class AlreadyFinished(ServiceError):
    """The assignment was skipped (or otherwise closed) and takes no answer."""


class NotAResearcher(ServiceError):
    """A grant for a user outside the researcher group (they could never use it)."""
