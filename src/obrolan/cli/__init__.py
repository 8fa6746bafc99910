"""`obrolan`: serve, migrate, administer and inspect an obrolan installation.

Every command reads the same settings as the server (OBROLAN_* variables, `.env`).
Errors that a person can fix (a taken username, a bad key, an unreachable database)
end the command with one red line and exit code 1, never a traceback. One module per
command group; importing them registers their commands on `app`.
"""

from obrolan.cli import (
    admin,
    audit,
    backup,
    business,
    business_templates,
    business_webhooks,
    jobs,
    privacy,
    privacy_requests,
    serve,
)
from obrolan.cli._common import app, redact
from obrolan.cli.serve import uvicorn_options

__all__ = [
    "admin",
    "app",
    "audit",
    "backup",
    "business",
    "business_templates",
    "business_webhooks",
    "jobs",
    "privacy",
    "privacy_requests",
    "redact",
    "serve",
    "uvicorn_options",
]
