"""Message templates (item 4): a business submits them through the Cloud API, an operator
reviews them, and the send path fills in the approved ones.

Every status change a business must hear of (APPROVED, REJECTED, automatic or not) is
queued as a `message_template_status_update` webhook in the transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from obrolan.accounts.principal import Principal
from obrolan.business import template_store as store
from obrolan.business.graph import GraphError, invalid_parameter
from obrolan.business.service import BusinessPrincipal
from obrolan.business.template_rules import (
    RenderedTemplate,
    check_content,
    check_submission,
    parameter_format_of,
    render,
)
from obrolan.business.template_store import TemplateFilter, TemplateRow
from obrolan.business.webhooks import WebhookOutbox
from obrolan.db import Database
from obrolan.errors import Conflict, Forbidden, Invalid, NotFound
from obrolan.ids import new_id
from obrolan.realtime.stream import EventStream, Transaction

STATUS_FIELD = "message_template_status_update"
REASON_MAX = 512
# The fields of a template the Graph API answers with when `fields` is not given.
DEFAULT_FIELDS = ("name", "language", "status", "category", "components", "parameter_format")
KNOWN_FIELDS = (*DEFAULT_FIELDS, "rejected_reason")


# At most this many templates per business (Meta's limit for a verified business).
TEMPLATE_LIMIT = 6000


@dataclass(frozen=True, slots=True)
class TemplatePage:
    templates: list[TemplateRow]
    has_more: bool


@dataclass(frozen=True, slots=True)
class TemplateSummary:
    """The Graph list's `summary`: what matches, what the business has, and whether every
    template name has every language any of them has."""

    total_count: int
    message_template_count: int
    message_template_limit: int
    are_translations_complete: bool


def cloud_template(row: TemplateRow, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A template as the Graph API answers it; `rejected_reason` by default only if rejected."""
    values: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "language": row.language,
        "status": row.status,
        "category": row.category,
        "components": row.components,
        "parameter_format": parameter_format_of(row.components),
        "rejected_reason": row.rejected_reason or "NONE",
    }
    if fields is None:
        fields = DEFAULT_FIELDS + (("rejected_reason",) if row.status == "REJECTED" else ())
    return {"id": row.id, **{f: values[f] for f in fields}}


def _already_exists(name: str, language: str) -> GraphError:
    return GraphError(
        100,
        "Invalid parameter",
        subcode=2388024,
        details=f"Content in this language already exists: {name} ({language})",
    )


class TemplateService:
    def __init__(self, db: Database, stream: EventStream, webhooks: WebhookOutbox) -> None:
        self.db = db
        self.stream = stream
        self.webhooks = webhooks

    # -- the business's side (Cloud API) ----------------------------------------------------
    async def create(self, principal: BusinessPrincipal, body: Mapping[str, Any]) -> TemplateRow:
        """PENDING review, or REJECTED at once with Meta's reason."""
        checked = check_submission(body)
        sub = checked.submission
        template_id = new_id()
        status = "PENDING" if checked.rejected_reason is None else "REJECTED"
        try:
            async with self.stream.transaction() as tx:
                if await store.by_name(tx.conn, principal.business_id, sub.name, sub.language):
                    raise _already_exists(sub.name, sub.language)
                if await store.count(tx.conn, principal.business_id, TemplateFilter()) >= (
                    TEMPLATE_LIMIT
                ):
                    raise invalid_parameter(f"a business has at most {TEMPLATE_LIMIT} templates")
                await store.insert_template(
                    tx.conn,
                    {
                        "id": template_id,
                        "business_id": principal.business_id,
                        "name": sub.name,
                        "language": sub.language,
                        "category": sub.category,
                        "status": status,
                        "components": sub.components,
                        "rejected_reason": checked.rejected_reason,
                        "created_at": tx.now,
                        "updated_at": tx.now,
                    },
                )
                row = await store.by_id(tx.conn, template_id)
                assert row is not None
                if status == "REJECTED":
                    await self._status_update(tx, row)
        except IntegrityError:  # the same name and language, made at the same moment
            raise _already_exists(sub.name, sub.language) from None
        return row

    async def list_templates(
        self,
        principal: BusinessPrincipal,
        where: TemplateFilter,
        *,
        after: str | None = None,
        limit: int = 25,
    ) -> TemplatePage:
        async with self.db.read() as conn:
            rows = await store.page(
                conn, principal.business_id, where, after=after, limit=limit + 1
            )
        return TemplatePage(rows[:limit], len(rows) > limit)

    async def summary(self, principal: BusinessPrincipal, where: TemplateFilter) -> TemplateSummary:
        async with self.db.read() as conn:
            matching = await store.count(conn, principal.business_id, where)
            pairs = await store.names_and_languages(conn, principal.business_id)
        languages: dict[str, set[str]] = {}
        for name, language in pairs:
            languages.setdefault(name, set()).add(language)
        every = set().union(*languages.values()) if languages else set()
        return TemplateSummary(
            matching,
            len(pairs),
            TEMPLATE_LIMIT,
            all(found == every for found in languages.values()),
        )

    async def get(self, principal: BusinessPrincipal, template_id: str) -> TemplateRow | None:
        """The template, if it is the token's business's (None if not, as if unknown)."""
        async with self.db.read() as conn:
            row = await store.by_id(conn, template_id)
        return row if row is not None and row.business_id == principal.business_id else None

    async def edit(
        self, principal: BusinessPrincipal, template_id: str, body: Mapping[str, Any]
    ) -> TemplateRow | None:
        """New components and category (the others are kept): reviewed again, so PENDING,
        or REJECTED at once. None if the template is not the business's."""
        if set(body) - {"components", "category", "parameter_format"}:
            raise invalid_parameter("only components and category of a template can be edited")
        async with self.stream.transaction() as tx:
            row = await store.by_id(tx.conn, template_id)
            if row is None or row.business_id != principal.business_id:
                return None
            current = {
                "category": row.category,
                "components": row.components,
                "parameter_format": parameter_format_of(row.components),
            }
            checked = check_content(row.name, row.language, {**current, **body})
            status = "PENDING" if checked.rejected_reason is None else "REJECTED"
            await store.replace_content(
                tx.conn,
                template_id,
                category=checked.submission.category,
                components=checked.submission.components,
                status=status,
                rejected_reason=checked.rejected_reason,
                now=tx.now,
            )
            edited = await store.by_id(tx.conn, template_id)
            assert edited is not None
            # Back to PENDING is not a change Meta reports; a rejection is.
            if status == "REJECTED":
                await self._status_update(tx, edited)
        return edited

    async def delete(self, principal: BusinessPrincipal, name: str, hsm_id: str | None) -> None:
        """Every language of the template `name`, or only the one with id `hsm_id`."""
        async with self.stream.transaction() as tx:
            deleted = await store.delete_named(tx.conn, principal.business_id, name, hsm_id)
        if not deleted:
            raise invalid_parameter(f"no message template named {name!r}")

    # -- the Graph objects registry (objects.py) ----------------------------------------------
    async def graph_read(
        self, principal: BusinessPrincipal, object_id: str
    ) -> dict[str, Any] | None:
        row = await self.get(principal, object_id)
        return cloud_template(row) if row is not None else None

    async def graph_edit(
        self, principal: BusinessPrincipal, object_id: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        edited = await self.edit(principal, object_id, body)
        if edited is None:
            return None
        return {"success": True, "id": edited.id, "name": edited.name, "category": edited.category}

    # -- the send path ------------------------------------------------------------------------
    async def for_send(
        self, business_id: str, name: str, language: str, components: list[dict[str, Any]]
    ) -> RenderedTemplate:
        """The APPROVED template `name` in `language`, filled in with the send's components:
        GraphError 132001 if there is none, 132000 if the parameters do not match."""
        async with self.db.read() as conn:
            row = await store.by_name(conn, business_id, name, language)
        if row is None or row.status != "APPROVED":
            raise GraphError(
                132001,
                "Template name does not exist in the translation",
                details=f"template name ({name}) does not exist in {language}",
            )
        return render(row.record(), components)

    # -- the operator's review ----------------------------------------------------------------
    async def queue(
        self, actor: Principal, status: str | None, *, after: str | None = None, limit: int = 100
    ) -> TemplatePage:
        """Every business's templates in `status` (all if None), oldest first."""
        require_admin(actor)
        async with self.db.read() as conn:
            rows = await store.page(
                conn,
                None,
                TemplateFilter(statuses=(status,) if status else None),
                after=after,
                limit=limit + 1,
            )
        return TemplatePage(rows[:limit], len(rows) > limit)

    async def approve(self, actor: Principal, template_id: str) -> TemplateRow:
        return await self._review(actor, template_id, "APPROVED", None)

    async def reject(self, actor: Principal, template_id: str, reason: str) -> TemplateRow:
        reason = reason.strip()
        if not 0 < len(reason) <= REASON_MAX:
            raise Invalid(f"a reason has 1 to {REASON_MAX} characters", field="reason")
        return await self._review(actor, template_id, "REJECTED", reason)

    async def _review(
        self, actor: Principal, template_id: str, status: str, reason: str | None
    ) -> TemplateRow:
        require_admin(actor)
        async with self.stream.transaction() as tx:
            decided = await store.review(
                tx.conn,
                template_id,
                status=status,
                rejected_reason=reason,
                reviewed_by=actor.user_id or None,  # None: the operator at the command line
                now=tx.now,
            )
            row = await store.by_id(tx.conn, template_id)
            if row is None:
                raise NotFound("no such template", field="template_id")
            if not decided:
                raise Conflict(f"the template is {row.status}, not PENDING", field="template_id")
            await self._status_update(tx, row)
        return row

    async def _status_update(self, tx: Transaction, row: TemplateRow) -> None:
        await self.webhooks.emit(
            tx,
            row.business_id,
            f"t:{row.id}",
            STATUS_FIELD,
            {
                "event": row.status,
                "message_template_id": row.id,
                "message_template_name": row.name,
                "message_template_language": row.language,
                "reason": row.rejected_reason or "NONE",
            },
        )


def require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden("only site administrators review templates", type_slug="not-an-admin")
