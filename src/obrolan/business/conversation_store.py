"""SQL for conversations with people, Cloud API messages and their statuses, and opt-ins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.business.models import (
    business_conversations,
    business_messages,
    business_numbers,
    business_opt_ins,
    businesses,
)
from obrolan.chat.models import messages, reactions


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: str
    number_id: str
    customer_id: str
    room_id: str
    last_inbound_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: str  # the wamid
    number_id: str
    conversation_id: str | None
    direction: str
    type: str
    chat_message_id: str | None
    position: int | None
    status: str
    error_code: int | None
    template_id: str | None
    category: str | None
    callback_data: str | None
    options: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class OptInRow:
    id: str
    business_id: str
    phone_index: bytes
    phone_enc: bytes
    source: str
    shown_text_enc: bytes
    reference: str | None
    opted_in_at: datetime
    recorded_by: str | None
    marketing_stopped_at: datetime | None
    withdrawn_at: datetime | None


def _conversation(row: Row[Any]) -> ConversationRow:
    return ConversationRow(**row._mapping)


def _message(row: Row[Any]) -> MessageRow:
    return MessageRow(**row._mapping)


def _opt_in(row: Row[Any]) -> OptInRow:
    return OptInRow(**row._mapping)


# -- conversations --------------------------------------------------------------------------


async def conversation_of(
    conn: AsyncConnection, number_id: str, customer_id: str
) -> ConversationRow | None:
    row = (
        await conn.execute(
            select(business_conversations).where(
                business_conversations.c.number_id == number_id,
                business_conversations.c.customer_id == customer_id,
            )
        )
    ).first()
    return _conversation(row) if row else None


async def conversation_by_id(conn: AsyncConnection, conversation_id: str) -> ConversationRow | None:
    row = (
        await conn.execute(
            select(business_conversations).where(business_conversations.c.id == conversation_id)
        )
    ).first()
    return _conversation(row) if row else None


async def conversations_in_rooms(
    conn: AsyncConnection, room_ids: Iterable[str]
) -> dict[str, ConversationRow]:
    rows = await conn.execute(
        select(business_conversations).where(business_conversations.c.room_id.in_(set(room_ids)))
    )
    return {r.room_id: _conversation(r) for r in rows}


async def conversations_of_business(
    conn: AsyncConnection, business_id: str, limit: int
) -> list[ConversationRow]:
    rows = await conn.execute(
        select(business_conversations)
        .join(business_numbers, business_numbers.c.id == business_conversations.c.number_id)
        .where(business_numbers.c.business_id == business_id)
        .order_by(business_conversations.c.last_inbound_at.desc(), business_conversations.c.id)
        .limit(limit)
    )
    return [_conversation(r) for r in rows]


async def insert_conversation(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(business_conversations).values(values))


async def set_last_inbound(
    conn: AsyncConnection, conversation_ids: list[str], at: datetime
) -> None:
    await conn.execute(
        update(business_conversations)
        .where(business_conversations.c.id.in_(conversation_ids))
        .values(last_inbound_at=at)
    )


# -- messages -------------------------------------------------------------------------------


async def insert_messages(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(business_messages), rows)


async def message_by_id(conn: AsyncConnection, wamid: str) -> MessageRow | None:
    row = (
        await conn.execute(select(business_messages).where(business_messages.c.id == wamid))
    ).first()
    return _message(row) if row else None


async def messages_by_chat_ids(
    conn: AsyncConnection, chat_message_ids: Iterable[str]
) -> dict[str, MessageRow]:
    rows = await conn.execute(
        select(business_messages).where(
            business_messages.c.chat_message_id.in_(set(chat_message_ids))
        )
    )
    return {r.chat_message_id: _message(r) for r in rows}


async def with_options(conn: AsyncConnection, conversation_id: str, limit: int) -> list[MessageRow]:
    """The conversation's newest outbound messages a person answers by choosing."""
    rows = await conn.execute(
        select(business_messages)
        .where(
            business_messages.c.conversation_id == conversation_id,
            business_messages.c.options.is_not(None),
            business_messages.c.chat_message_id.is_not(None),
        )
        .order_by(business_messages.c.position.desc())
        .limit(limit)
    )
    return [_message(r) for r in rows]


async def unreported(
    conn: AsyncConnection, conversation_id: str, delivered_up_to: int, read_up_to: int
) -> list[MessageRow]:
    """Outbound messages the person's receipts now cover but whose status says less."""
    rows = await conn.execute(
        select(business_messages)
        .where(
            business_messages.c.conversation_id == conversation_id,
            business_messages.c.direction == "out",
            business_messages.c.failed_at.is_(None),
            or_(
                and_(
                    business_messages.c.position <= delivered_up_to,
                    business_messages.c.delivered_at.is_(None),
                ),
                and_(
                    business_messages.c.position <= read_up_to,
                    business_messages.c.read_at.is_(None),
                ),
            ),
        )
        .order_by(business_messages.c.position)
    )
    return [_message(r) for r in rows]


async def set_status(
    conn: AsyncConnection, wamid: str, status: str, values: dict[str, Any]
) -> None:
    await conn.execute(
        update(business_messages)
        .where(business_messages.c.id == wamid)
        .values(status=status, **values)
    )


# -- opt-ins (R16) --------------------------------------------------------------------------


async def opt_in_of(conn: AsyncConnection, business_id: str, phone_index: bytes) -> OptInRow | None:
    row = (
        await conn.execute(
            select(business_opt_ins).where(
                business_opt_ins.c.business_id == business_id,
                business_opt_ins.c.phone_index == phone_index,
            )
        )
    ).first()
    return _opt_in(row) if row else None


async def opt_in_by_id(conn: AsyncConnection, opt_in_id: str) -> OptInRow | None:
    row = (
        await conn.execute(select(business_opt_ins).where(business_opt_ins.c.id == opt_in_id))
    ).first()
    return _opt_in(row) if row else None


async def put_opt_in(conn: AsyncConnection, values: dict[str, Any]) -> str:
    """Record an opt-in, replacing an earlier one of the same person (a new consent clears
    a stop and a withdrawal); the row's id."""
    earlier = await opt_in_of(conn, values["business_id"], values["phone_index"])
    fresh = {**values, "marketing_stopped_at": None, "withdrawn_at": None}
    if earlier is None:
        await conn.execute(insert(business_opt_ins).values(fresh))
        return str(values["id"])
    fresh.pop("id")
    await conn.execute(
        update(business_opt_ins).where(business_opt_ins.c.id == earlier.id).values(fresh)
    )
    return earlier.id


async def set_opt_in_flags(conn: AsyncConnection, opt_in_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        update(business_opt_ins).where(business_opt_ins.c.id == opt_in_id).values(values)
    )


async def opt_ins_of_phone(conn: AsyncConnection, phone_index: bytes) -> list[tuple[OptInRow, str]]:
    """Every business's opt-in for this number, with the business's name."""
    rows = await conn.execute(
        select(business_opt_ins, businesses.c.name.label("business_name"))
        .join(businesses, businesses.c.id == business_opt_ins.c.business_id)
        .where(business_opt_ins.c.phone_index == phone_index)
        .order_by(business_opt_ins.c.opted_in_at, business_opt_ins.c.id)
    )
    found = []
    for row in rows:
        values = dict(row._mapping)
        name = values.pop("business_name")
        found.append((OptInRow(**values), name))
    return found


# -- retention (R2) -------------------------------------------------------------------------


def _delivered_or_done() -> Any:
    """When a message's 30 days start: delivered (or received), failed, else created."""
    return func.coalesce(
        business_messages.c.delivered_at,
        business_messages.c.failed_at,
        business_messages.c.created_at,
    )


async def delete_expired_messages(
    conn: AsyncConnection, cutoff: datetime, limit: int
) -> dict[str, int]:
    """Up to `limit` business messages whose 30 days ran out before `cutoff`, with the chat
    messages that carried their content and those messages' reactions; rows per table."""
    due = (
        await conn.execute(
            select(business_messages.c.id, business_messages.c.chat_message_id)
            .where(_delivered_or_done() < cutoff)
            .order_by(business_messages.c.created_at)
            .limit(limit)
        )
    ).all()
    if not due:
        return {"business_messages": 0, "messages": 0, "reactions": 0}
    chat_ids = [r.chat_message_id for r in due if r.chat_message_id]
    gone_reactions = gone_messages = 0
    if chat_ids:
        gone_reactions = (
            await conn.execute(delete(reactions).where(reactions.c.message_id.in_(chat_ids)))
        ).rowcount
        gone_messages = (
            await conn.execute(delete(messages).where(messages.c.id.in_(chat_ids)))
        ).rowcount
    gone = await conn.execute(
        delete(business_messages).where(business_messages.c.id.in_([r.id for r in due]))
    )
    return {
        "business_messages": int(gone.rowcount),
        "messages": int(gone_messages),
        "reactions": int(gone_reactions),
    }


async def count_expired_messages(conn: AsyncConnection, cutoff: datetime) -> dict[str, int]:
    value = (
        await conn.execute(
            select(func.count()).select_from(business_messages).where(_delivered_or_done() < cutoff)
        )
    ).scalar_one()
    return {"business_messages": int(value)}


async def oldest_message(conn: AsyncConnection) -> dict[str, datetime | None]:
    value = (await conn.execute(select(func.min(_delivered_or_done())))).scalar()
    return {"business_messages": value}


# -- erasure (R4) ---------------------------------------------------------------------------


async def delete_conversations_of(conn: AsyncConnection, user_id: str, limit: int) -> int:
    """Up to `limit` of the person's conversations with businesses, with their Cloud API
    message rows; how many conversations."""
    ids = (
        (
            await conn.execute(
                select(business_conversations.c.id)
                .where(business_conversations.c.customer_id == user_id)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return 0
    await conn.execute(
        delete(business_messages).where(business_messages.c.conversation_id.in_(ids))
    )
    gone = await conn.execute(
        delete(business_conversations).where(business_conversations.c.id.in_(ids))
    )
    return int(gone.rowcount)


async def delete_opt_ins_of_phone(
    conn: AsyncConnection, phone_index: bytes | None, limit: int
) -> int:
    """Up to `limit` opt-ins held for this number, by any business."""
    if phone_index is None:
        return 0
    ids = (
        (
            await conn.execute(
                select(business_opt_ins.c.id)
                .where(business_opt_ins.c.phone_index == phone_index)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return 0
    gone = await conn.execute(delete(business_opt_ins).where(business_opt_ins.c.id.in_(ids)))
    return int(gone.rowcount)
