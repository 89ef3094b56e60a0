"""The scripts' own expected failures, whose messages are ready for the user."""

from services.common.errors import ConfigurationError


class CliError(Exception):
    """An expected failure whose message is ready for the user."""


class ConfigError(CliError, ConfigurationError):
    """The configuration is at fault (a setting, an account); exits with `exit_codes.CONFIG`."""
