"""The one error class every package uses for "the configuration is at fault"."""


class ConfigurationError(Exception):
    """A setting is missing or wrong, or a credential was refused. The message says which and how
    to fix it; the process exits with `services.common.exit_codes.CONFIG` (78), which the systemd
    unit does not restart."""
