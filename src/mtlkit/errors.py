"""Errors that mtlkit raises for bad input: each message names the cause and the fix."""


class MtlkitError(Exception):
    """Base class for user-facing errors (bad config, bad data, bad checkpoint)."""


class ConfigError(MtlkitError, ValueError):
    """A configuration value is invalid or inconsistent."""


class DataError(MtlkitError, ValueError):
    """Input data is missing or malformed."""


class CheckpointError(MtlkitError, ValueError):
    """A checkpoint does not fit the configured model."""


def user_error(exc: BaseException) -> MtlkitError | None:
    """The :class:`MtlkitError` behind ``exc`` (itself, or its cause, e.g. inside Hydra's instantiate), if any."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, MtlkitError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None
