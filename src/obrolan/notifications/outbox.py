"""Mail and SMS go out from jobs: queued in the change's transaction, sent by the worker.

What a job carries (R6). A verification code must reach the person, so it has to be
somewhere until the worker sends it; the address it goes to may be one the account no
longer has (the notice to an old address), or may change before the job runs (a code
for one address must not go to the next). So the job payload holds only the person's
id, the template's name and language, and a message id in clear; the address and the
template's parameters are sealed under the person's own data key (AES-256-GCM, bound
to the job kind and the person). The database keeps the code itself only as a keyed
hash (accounts/verification.py). Erasing the person destroys the key, and with it every
unsent or kept job's content, as it does their other data (R4); a job whose key is gone
is dropped unsent.
"""

from __future__ import annotations

import base64
from email.utils import make_msgid, parseaddr
from typing import Any

import orjson
import structlog

from obrolan.accounts.keys import DataKeys, aad, open_text, seal_text
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.db import Database
from obrolan.ids import new_id
from obrolan.jobs import Job, JobQueue, Worker
from obrolan.notifications.mail import MailSender, build_message
from obrolan.notifications.rules import Language
from obrolan.notifications.sms import SmsSender
from obrolan.notifications.templates import MAIL, SMS, render_mail, render_sms
from obrolan.realtime.stream import Transaction

MAIL_SEND = "mail.send"
SMS_SEND = "sms.send"

log = structlog.get_logger("obrolan.notifications")


class Notifications:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        jobs: JobQueue,
        data_keys: DataKeys,
        clock: Clock,
        mail: MailSender,
        sms: SmsSender,
    ) -> None:
        self.settings = settings
        self.db = db
        self.jobs = jobs
        self.data_keys = data_keys
        self.clock = clock
        self.mail_sender = mail
        self.sms_sender = sms
        domain = parseaddr(settings.mail_from)[1].rpartition("@")[2]
        self.message_id_domain = domain or "localhost"

    def register(self, worker: Worker) -> None:
        worker.handle(MAIL_SEND)(self._send_mail)
        worker.handle(SMS_SEND)(self._send_sms)

    # -- queued in the caller's transaction ----------------------------------------------
    async def mail(
        self,
        tx: Transaction,
        key: bytes,
        user_id: str,
        *,
        to: str,
        template: str,
        language: Language,
        params: dict[str, str],
    ) -> None:
        """Queue mail `template` to `to`, in the person's `language`, sent once `tx` commits."""
        assert template in MAIL, template
        message_id = make_msgid(domain=self.message_id_domain)
        await self._enqueue(tx, MAIL_SEND, key, user_id, to, template, language, params, message_id)

    async def sms(
        self,
        tx: Transaction,
        key: bytes,
        user_id: str,
        *,
        to: str,
        template: str,
        language: Language,
        params: dict[str, str],
    ) -> None:
        """Queue SMS `template` to the E.164 number `to`, sent once `tx` commits."""
        assert template in SMS, template
        await self._enqueue(tx, SMS_SEND, key, user_id, to, template, language, params, new_id())

    async def _enqueue(
        self,
        tx: Transaction,
        kind: str,
        key: bytes,
        user_id: str,
        to: str,
        template: str,
        language: Language,
        params: dict[str, str],
        message_id: str,
    ) -> None:
        content = orjson.dumps({"to": to, "params": params}).decode()
        sealed = seal_text(key, content, aad("jobs", kind, user_id))
        payload = {
            "user_id": user_id,
            "template": template,
            "language": language,
            "message_id": message_id,
            "sealed": base64.b64encode(sealed).decode(),
        }
        # The message id keys the job: queueing the same message twice sends it once.
        await self.jobs.enqueue(tx, kind, payload, key=f"{kind}:{message_id}")

    # -- run by the worker ------------------------------------------------------------
    async def _open(self, job: Job) -> tuple[str, dict[str, str]] | None:
        """The job's address and parameters; None once the person's key is destroyed (R4)."""
        user_id = str(job.payload["user_id"])
        key = await self.data_keys.get(user_id)
        sealed = base64.b64decode(job.payload["sealed"])
        content = open_text(key, sealed, aad("jobs", job.kind, user_id))
        if content is None:
            log.info("notification dropped: the person's key is gone", job_id=job.id)
            return None
        opened: dict[str, Any] = orjson.loads(content)
        return str(opened["to"]), {str(k): str(v) for k, v in opened["params"].items()}

    async def _send_mail(self, job: Job) -> None:
        opened = await self._open(job)
        if opened is None:
            return
        to, params = opened
        text = render_mail(job.payload["template"], job.payload["language"], params)
        message = build_message(
            text,
            sender=self.settings.mail_from,
            to=to,
            message_id=str(job.payload["message_id"]),
            date=self.clock.now(),
        )
        await self.mail_sender.send(message)

    async def _send_sms(self, job: Job) -> None:
        opened = await self._open(job)
        if opened is None:
            return
        to, params = opened
        text = render_sms(job.payload["template"], job.payload["language"], params)
        await self.sms_sender.send(to=to, text=text, message_id=str(job.payload["message_id"]))
