"""The data layer's one error type, free of torch so that config checks can raise it."""

from ..jobrunner import UserError


class DataError(UserError):
    """A data set could not be had or is damaged; the message names the file and what to do."""
