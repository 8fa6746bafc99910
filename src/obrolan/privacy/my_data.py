"""What obrolan holds about me (R1, R13): the data map, grouped by category, for one person.

Read from the same column declarations as `obrolan privacy map`, so this view cannot
say less than the schema holds. Whether the person has a value is said where it costs
nothing extra (their own account view); elsewhere it is left unsaid (None).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from obrolan.accounts.principal import Principal
from obrolan.accounts.records import Account
from obrolan.accounts.service import AccountsService
from obrolan.db.schema import metadata
from obrolan.privacy import requests_store as store
from obrolan.privacy.audit import AuditLog, OwnEntry
from obrolan.privacy.datamap import DataMapEntry, build_data_map
from obrolan.privacy.requests import PrivacyRequest, PrivacyRequests

CATEGORY_TEXT: dict[str, str] = {
    "user.unique_id": "your account's id, wherever something refers to you",
    "user.account.username": "your username",
    "user.account.settings": "your choices: who may find you, who sees your profile, language",
    "user.name": "your display name",
    "user.contact": "the addresses a confirmation code was sent to",
    "user.contact.email": "your email address",
    "user.contact.phone_number": "your phone number",
    "user.content": "what you wrote in your data requests, and the answers",
    "user.content.private": "your messages and reactions",
    "user.content.public": "your bio, and the names and topics of rooms you made",
    "user.content.self_image": "your profile photo",
    "user.authorization.credentials": "your password (as a hash), sign-in and one-time codes",
    "user.device": "the devices and browsers you signed in with",
    "user.device.ip_address": "the addresses you signed in from",
    "user.demographic.gender": "your gender",
    "user.demographic.date_of_birth": "your date of birth",
}

USE_TEXT: dict[str, str] = {
    "essential.service": "to provide the service you use",
    "essential.service.authentication": "to sign you in",
    "essential.service.security": "to keep your account and the service secure",
    "essential.service.operations": "to run background work for you (mail, exports)",
    "essential.legal_obligation": "because the law requires it",
}


@dataclass(frozen=True, slots=True)
class Category:
    category: str
    description: str
    purposes: list[str]
    retention: list[str]
    where: list[str]
    encrypted: bool
    held: bool | None


@dataclass(frozen=True, slots=True)
class MyData:
    restricted: bool
    objected: bool
    categories: list[Category]
    requests: list[PrivacyRequest]
    audit: list[OwnEntry]
    audit_next: int | None


def categories(entries: list[DataMapEntry], account: Account | None) -> list[Category]:
    """Personal columns grouped by category, each with its purposes and retention."""
    grouped: dict[str, list[DataMapEntry]] = defaultdict(list)
    for entry in entries:
        if entry.personal:
            grouped[entry.category].append(entry)
    held = _held(account)
    return [
        Category(
            category=name,
            description=CATEGORY_TEXT.get(name, name),
            purposes=sorted({USE_TEXT.get(e.use, e.use) for e in group}),
            retention=sorted({e.retention_summary for e in group}),
            where=[f"{e.table}.{e.column}" for e in group],
            encrypted=all(e.encrypted for e in group),
            held=held.get(name),
        )
        for name, group in sorted(grouped.items())
    ]


def _held(account: Account | None) -> dict[str, bool]:
    if account is None:
        return {}
    return {
        "user.unique_id": True,
        "user.account.username": True,
        "user.name": account.display_name is not None,
        "user.contact.email": account.email is not None,
        "user.contact.phone_number": account.phone is not None,
        "user.demographic.gender": account.gender is not None,
        "user.demographic.date_of_birth": account.date_of_birth is not None,
        "user.content.self_image": account.photo,
        "user.authorization.credentials": True,
    }


class MyDataView:
    def __init__(
        self, accounts: AccountsService, requests: PrivacyRequests, audit: AuditLog
    ) -> None:
        self.accounts = accounts
        self.requests = requests
        self.audit = audit
        self.entries = build_data_map(metadata)

    async def about(self, principal: Principal, *, before: int | None, limit: int) -> MyData:
        account = await self.accounts.profile.me(principal)
        mine = await self.requests.mine(principal)
        db = self.requests.db
        async with db.read() as conn:
            flags = await store.account_flags(conn, principal.user_id)
        # The same view as GET /privacy/audit: held entries left out, chain-only fields too.
        page = await self.audit.own_view(db, principal.user_id, before_seq=before, limit=limit)
        return MyData(
            restricted=flags.restricted_at is not None,
            objected=flags.objected_at is not None,
            categories=categories(self.entries, account),
            requests=mine,
            audit=page.entries,
            audit_next=page.next,
        )
