"""Errors a person can act on.

A `UserError` carries a message written as one or two sentences: what was wrong and what
to do. The CLI prints it without a traceback (the traceback only under `--debug`).
"""


class UserError(Exception):
    """An error caused by input, settings or state that the user can put right."""

    exit_code = 2


class ConfigurationError(UserError):
    """A setting is missing or invalid."""


class LockHeldError(UserError):
    """Another process holds a lock this command needs."""

    exit_code = 3
