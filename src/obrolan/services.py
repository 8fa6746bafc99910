"""The running parts of one obrolan process, built once and shared by the API layers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from obrolan.accounts.keys import DataKeys
from obrolan.accounts.service import AccountsService
from obrolan.admin import AdminService
from obrolan.business.media import MediaService
from obrolan.business.messaging import BusinessMessaging
from obrolan.business.objects import GraphObjects
from obrolan.business.service import BusinessService
from obrolan.business.templates import TemplateService
from obrolan.business.webhook_delivery import WebhookDelivery
from obrolan.business.webhook_service import WebhookSubscriptions
from obrolan.business.webhooks import WebhookOutbox
from obrolan.chat.service import ChatService
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.crypto import KeyRing, load_or_create_kek
from obrolan.crypto.keystore import KeyStore, KeyStoreLocation
from obrolan.db import Database
from obrolan.jobs import JobQueue, Worker
from obrolan.notifications import Notifications, mail_sender, sms_sender
from obrolan.ops.metrics import Metrics
from obrolan.privacy.audit import AuditLog
from obrolan.privacy.audit_checkpoint import AuditCheckpoints
from obrolan.privacy.erasure import Erasure
from obrolan.privacy.export import ExportService
from obrolan.privacy.lawful_access import LawfulAccessService
from obrolan.privacy.my_data import MyDataView
from obrolan.privacy.requests import PrivacyRequests
from obrolan.privacy.retention import log_kept
from obrolan.privacy.sweep import RetentionSweep
from obrolan.profile.service import ProfileService
from obrolan.realtime.hub import Hub, LocalBroker
from obrolan.realtime.redis_broker import RedisBroker
from obrolan.realtime.stream import Broker, EventStream


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    keyring: KeyRing
    keystore: KeyStore
    data_keys: DataKeys
    metrics: Metrics
    hub: Hub
    broker: Broker
    stream: EventStream
    accounts: AccountsService
    profile: ProfileService
    chat: ChatService
    admin: AdminService
    jobs: JobQueue
    notifications: Notifications
    job_worker: Worker
    retention_sweep: RetentionSweep
    audit: AuditLog
    lawful_access: LawfulAccessService
    audit_checkpoints: AuditCheckpoints
    exports: ExportService
    privacy_requests: PrivacyRequests
    erasure: Erasure
    my_data: MyDataView
    business: BusinessService
    webhooks: WebhookOutbox
    graph_objects: GraphObjects
    business_messaging: BusinessMessaging
    business_media: MediaService
    webhook_delivery: WebhookDelivery
    webhook_subscriptions: WebhookSubscriptions
    templates: TemplateService

    async def start(self) -> None:
        await self.stream.raise_floor()
        await self.broker.start()
        await self.chat.start()
        await self.retention_sweep.schedule_first()
        await self.audit_checkpoints.schedule_first()
        await self.erasure.schedule_first()
        self.job_worker.start()

    async def close(self) -> None:
        await self.job_worker.stop()
        await self.chat.stop()
        await self.broker.stop()
        await self.db.dispose()
        await self.keystore.dispose()


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or Clock()
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    keyring = KeyRing(load_or_create_kek(settings.kek, settings.resolved_kek_file))
    keystore = KeyStore(keystore_location(settings))
    data_keys = DataKeys(keyring, keystore, clock)
    audit = AuditLog(keyring, clock, kept=log_kept(settings))
    metrics = Metrics()
    hub = Hub()
    stream = EventStream(db, LocalBroker(hub), clock)
    broker: Broker = stream.broker
    if settings.broker == "redis":
        broker = RedisBroker(
            settings.redis_url,
            settings.redis_channel,
            hub,
            stream,
            metrics,
            presence_ttl_seconds=settings.presence_ttl_seconds,
        )
        stream.set_broker(broker)
    jobs = JobQueue(db, stream, clock)
    notifications = Notifications(
        settings, db, jobs, data_keys, clock, mail_sender(settings), sms_sender(settings)
    )
    accounts = AccountsService(
        settings, db, stream, data_keys, keyring, clock, notifications, audit
    )
    profile = ProfileService(db, stream, data_keys, max_decoding=max(1, os.cpu_count() or 1))
    chat = ChatService(settings, db, stream, data_keys, clock, metrics)
    admin = AdminService(db, stream, data_keys, accounts, audit)
    lawful_access = LawfulAccessService(stream, chat, audit, clock, kept=log_kept(settings))
    job_worker = Worker(
        jobs,
        poll_seconds=settings.jobs_poll_seconds,
        lease=timedelta(seconds=settings.jobs_lease_seconds),
        batch=settings.jobs_batch,
    )
    business = BusinessService(settings, db, stream, data_keys, accounts, clock)
    business_media = MediaService(settings, db, stream, data_keys, business)
    retention_sweep = RetentionSweep(
        settings, stream, jobs, accounts.session_lifetime, clock, audit, business_media
    )
    retention_sweep.register(job_worker)
    audit_checkpoints = AuditCheckpoints(settings, db, stream, jobs, audit, lawful_access, clock)
    audit_checkpoints.register(job_worker)
    notifications.register(job_worker)
    privacy_requests = PrivacyRequests(
        settings, db, stream, data_keys, accounts, notifications, jobs, audit, clock
    )
    erasure = Erasure(
        settings, stream, jobs, data_keys, notifications, privacy_requests, audit, metrics, clock
    )
    erasure.register(job_worker)
    exports = ExportService(settings, db, stream, data_keys, audit, clock, privacy_requests)
    exports.register(job_worker)
    my_data = MyDataView(accounts, privacy_requests, audit)
    webhooks = WebhookOutbox(data_keys, jobs)
    graph_objects = GraphObjects()
    templates = TemplateService(db, stream, webhooks)
    business_messaging = BusinessMessaging(
        settings,
        db,
        stream,
        data_keys,
        keyring,
        business,
        chat,
        webhooks,
        templates,
        business_media,
        jobs,
        audit,
        clock,
    )
    business_messaging.register(job_worker)
    graph_objects.register(read=business_media.read, delete=business_media.delete)
    webhook_delivery = WebhookDelivery(settings, stream, data_keys, jobs, clock)
    webhook_delivery.register(job_worker)
    webhook_subscriptions = WebhookSubscriptions(
        settings, db, stream, data_keys, jobs, business, clock
    )
    graph_objects.register(read=templates.graph_read, edit=templates.graph_edit)
    return Services(
        settings,
        clock,
        db,
        keyring,
        keystore,
        data_keys,
        metrics,
        hub,
        broker,
        stream,
        accounts,
        profile,
        chat,
        admin,
        jobs,
        notifications,
        job_worker,
        retention_sweep,
        audit,
        lawful_access,
        audit_checkpoints,
        exports,
        privacy_requests,
        erasure,
        my_data,
        business,
        webhooks,
        graph_objects,
        business_messaging,
        business_media,
        webhook_delivery,
        webhook_subscriptions,
        templates,
    )


def keystore_location(settings: Settings) -> KeyStoreLocation:
    """Where this installation's key store is (obrolan.crypto.keystore)."""
    return KeyStoreLocation.for_database(settings.resolved_database_url, settings.keystore_url)
