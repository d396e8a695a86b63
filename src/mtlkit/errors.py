"""Errors that mtlkit raises for bad input: each message names the cause and the fix."""


class MtlkitError(Exception):
    """Base class for user-facing errors (bad config, bad data, bad checkpoint)."""


class ConfigError(MtlkitError, ValueError):
    """A configuration value is invalid or inconsistent."""


class DataError(MtlkitError, ValueError):
    """Input data is missing or malformed."""


class CheckpointError(MtlkitError, ValueError):
    """A checkpoint does not fit the configured model."""
