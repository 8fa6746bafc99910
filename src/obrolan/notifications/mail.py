"""Outgoing mail: messages built with the standard library, sent over SMTP or logged.

Only the `mail.send` job calls a sender (outbox.py): no request waits on a mail server,
and an SMTP error raises so the job is tried again with backoff.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import aiosmtplib
import structlog

from obrolan.config import Settings
from obrolan.notifications.rules import elide_address
from obrolan.notifications.templates import MailText

log = structlog.get_logger("obrolan.mail")


def build_message(
    text: MailText,
    *,
    sender: str,
    to: str,
    message_id: str,
    date: datetime,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML second (RFC 2046 order).

    Mail that is not essential carries List-Unsubscribe with one-click List-Unsubscribe-Post
    (RFC 8058); codes and security alerts are sent without, so `unsubscribe_url` is None.
    """
    message = EmailMessage()
    message["Subject"] = text.subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text.text)
    message.add_alternative(text.html, subtype="html")
    return message


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailSender:
    """Sends through the configured SMTP server; any failure raises (the job retries)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout_seconds,
        )


class ConsoleMailSender:
    """For development: logs that a message went out, to an elided address.

    Its text (a code, say) is logged only at debug level, so a developer can follow a
    verification by hand (`OBROLAN_LOG_LEVEL=debug`) while info-level logs never hold it.
    """

    async def send(self, message: EmailMessage) -> None:
        log.info(
            "mail not sent: console backend",
            to=elide_address(str(message["To"])),
            subject=str(message["Subject"]),
            message_id=str(message["Message-ID"]),
        )
        text = message.get_body(preferencelist=("plain",))
        if text is not None:
            log.debug(
                "mail text (console backend)",
                message_id=str(message["Message-ID"]),
                text=text.get_content(),
            )


def mail_sender(settings: Settings) -> MailSender:
    return SmtpMailSender(settings) if settings.mail_backend == "smtp" else ConsoleMailSender()
