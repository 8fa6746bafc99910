"""Outgoing notifications: mail (SMTP or console) and SMS (webhook or console), sent by jobs."""

from obrolan.notifications.mail import MailSender, mail_sender
from obrolan.notifications.outbox import MAIL_SEND, SMS_SEND, Notifications
from obrolan.notifications.rules import Language
from obrolan.notifications.sms import SmsSender, sms_sender

__all__ = [
    "MAIL_SEND",
    "SMS_SEND",
    "Language",
    "MailSender",
    "Notifications",
    "SmsSender",
    "mail_sender",
    "sms_sender",
]
