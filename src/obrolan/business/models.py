"""Business tables: accounts, members, sender numbers, tokens, templates, opt-ins,
conversations with customers, messages' statuses, and the webhook outbox (F9, F10)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from obrolan.db import Position, UTCDateTime, data, metadata, system

# The business account (the Cloud API's WhatsApp Business Account): its id is the WABA id.
businesses = Table(
    "businesses",
    metadata,
    Column("id", String(26), primary_key=True, info=system()),
    # A business's profile is what it publishes about itself, not a person's data.
    Column("name", String(100), nullable=False, info=system()),
    Column("about", String(139), nullable=True, info=system()),
    Column("description", String(512), nullable=True, info=system()),
    Column("address", String(256), nullable=True, info=system()),
    Column("email", String(128), nullable=True, info=system()),
    Column("websites", Text, nullable=False, default="[]", info=system()),  # JSON list
    Column("vertical", String(32), nullable=True, info=system()),
    Column("photo_url", String(512), nullable=True, info=system()),
    Column(
        "created_by",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service", "with-row"),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system()),
)

business_members = Table(
    "business_members",
    metadata,
    Column(
        "business_id",
        String(26),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
        info=system(),
    ),
    Column(
        "user_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info=data("user.unique_id", "essential.service", "account"),
    ),
    Column("role", String(8), nullable=False, info=system()),  # owner | admin | agent
    Column("created_at", UTCDateTime, nullable=False, info=system()),
    PrimaryKeyConstraint("business_id", "user_id"),
    Index("ix_business_members_user_id", "user_id"),
)

# A sender number. `id` is the Cloud API's phone_number_id; `user_id` is the account
# that speaks for the number in people's chats (it cannot sign in).
business_numbers = Table(
    "business_numbers",
    metadata,
    Column("id", String(26), primary_key=True, info=system()),
    Column(
        "business_id",
        String(26),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
        info=system(),
    ),
    # The business's own number, digits only (E.164 without "+"): it publishes it.
    Column("display_phone_number", String(16), nullable=False, unique=True, info=system()),
    Column("verified_name", String(100), nullable=False, info=system()),
    Column(
        "user_id",
        String(26),
        ForeignKey("users.id", ondelete="RESTRICT"),
        nullable=False,
        unique=True,
        info=system(),
    ),
    # Relay to an upstream Cloud API for numbers nobody here has verified (item 3).
    Column("relay_base_url", String(512), nullable=True, info=system()),
    Column("relay_token_enc", LargeBinary, nullable=True, info=system()),
    Column("created_at", UTCDateTime, nullable=False, info=system()),
    Index("ix_business_numbers_business_id", "business_id"),
)

# System access tokens, scoped to one business; only a hash is kept.
business_tokens = Table(
    "business_tokens",
    metadata,
    Column("id", String(26), primary_key=True, info=system()),
    Column(
        "business_id",
        String(26),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
        info=system(),
    ),
    Column("name", String(64), nullable=False, info=system()),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True, info=system()),
    Column(
        "created_by",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service", "with-row"),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system()),
    Column("last_used_at", UTCDateTime, nullable=True, info=system()),
    Column("revoked_at", UTCDateTime, nullable=True, info=system()),
    Index("ix_business_tokens_business_id", "business_id"),
)

# Message templates (item 4): components are the Cloud API's JSON, as submitted.
business_templates = Table(
    "business_templates",
    metadata,
    Column("id", String(26), primary_key=True, info=system()),
    Column(
        "business_id",
        String(26),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
        info=system(),
    ),
    Column("name", String(512), nullable=False, info=system()),
    Column("language", String(16), nullable=False, info=system()),
    Column("category", String(16), nullable=False, info=system()),
    Column("status", String(16), nullable=False, info=system()),
    Column("components", Text, nullable=False, info=system()),
    Column("rejected_reason", String(512), nullable=True, info=system()),
    Column(
        "reviewed_by",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service", "with-row"),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system()),
    Column("updated_at", UTCDateTime, nullable=False, info=system()),
    UniqueConstraint("business_id", "name", "language"),
    Index("ix_business_templates_status", "status"),
)

# R16: a person's opt-in to one business's messages, with its proof. Keyed by the
# blind index of the phone number, so it can be recorded before the person is known
# here; the number and the text shown are sealed under the business's data key.
business_opt_ins = Table(
    "business_opt_ins",
    metadata,
    Column("id", String(26), primary_key=True, info=system()),
    Column(
        "business_id",
        String(26),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
        info=system(),
    ),
    Column(
        "phone_index",
        LargeBinary(32),
        nullable=False,
        info=data("user.contact.phone_number", "essential.service", "business-opt-in"),
    ),
    Column(
        "phone_enc",
        LargeBinary,
        nullable=False,
        info=data(
            "user.contact.phone_number", "essential.service", "business-opt-in", encrypted=True
        ),
    ),
    Column("source", String(32), nullable=False, info=system("business-opt-in")),
    Column(
        "shown_text_enc",
        LargeBinary,
        nullable=False,
        info=data("user.content.private", "essential.service", "business-opt-in", encrypted=True),
    ),
    Column("reference", String(128), nullable=True, info=system("business-opt-in")),
    Column("opted_in_at", UTCDateTime, nullable=False, info=system("business-opt-in")),
    Column(
        "recorded_by",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service", "business-opt-in"),
    ),
    # STOP / BERHENTI: no more marketing from this business until START / MULAI.
    Column("marketing_stopped_at", UTCDateTime, nullable=True, info=system("business-opt-in")),
    # Withdrawn by the person (their settings) or by STOP ALL: no messages at all.
    Column("withdrawn_at", UTCDateTime, nullable=True, info=system("business-opt-in")),
    UniqueConstraint("business_id", "phone_index"),
    Index("ix_business_opt_ins_phone_index", "phone_index"),
)

# A conversation between one sender number and one person here, carried by a chat room
# of kind "business" (item 3). The 24-hour window counts from `last_inbound_at` (item 6).
business_conversations = Table(
    "business_conversations",
    metadata,
    Column("id", String(26), primary_key=True, info=system()),
    Column(
        "number_id",
        String(26),
        ForeignKey("business_numbers.id", ondelete="CASCADE"),
        nullable=False,
        info=system(),
    ),
    Column(
        "customer_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info=data("user.unique_id", "essential.service", "account"),
    ),
    Column(
        "room_id",
        String(26),
        ForeignKey("rooms.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
        info=system(),
    ),
    Column("last_inbound_at", UTCDateTime, nullable=True, info=system()),
    Column("created_at", UTCDateTime, nullable=False, info=system()),
    UniqueConstraint("number_id", "customer_id"),
)

# One row per Cloud API message, either way: its wamid, its status and their times.
# The content lives in the chat message (sealed), never here (R2).
business_messages = Table(
    "business_messages",
    metadata,
    Column("id", String(64), primary_key=True, info=system("business-messages")),
    Column(
        "number_id",
        String(26),
        ForeignKey("business_numbers.id", ondelete="CASCADE"),
        nullable=False,
        info=system("business-messages"),
    ),
    Column(
        "conversation_id",
        String(26),
        ForeignKey("business_conversations.id", ondelete="CASCADE"),
        nullable=True,
        info=system("business-messages"),
    ),
    Column("direction", String(3), nullable=False, info=system("business-messages")),  # in|out
    Column("type", String(16), nullable=False, info=system("business-messages")),
    # No foreign key: the row is written in the chat's batch before its messages are
    # (obrolan.chat.watchers), and outlives a message deleted in the chat until R2's sweep.
    Column(
        "chat_message_id",
        String(26),
        nullable=True,
        unique=True,
        info=system("business-messages"),
    ),
    Column("position", Position, nullable=True, info=system("business-messages")),
    Column("status", String(10), nullable=False, info=system("business-messages")),
    Column("error_code", Integer, nullable=True, info=system("business-messages")),
    Column("template_id", String(26), nullable=True, info=system("business-messages")),
    Column("category", String(16), nullable=True, info=system("business-messages")),
    Column("callback_data", String(512), nullable=True, info=system("business-messages")),
    # The buttons or rows a person may answer with (JSON), to read their answer back.
    Column("options", Text, nullable=True, info=system("business-messages")),
    Column("created_at", UTCDateTime, nullable=False, info=system("business-messages")),
    Column("sent_at", UTCDateTime, nullable=True, info=system("business-messages")),
    Column("delivered_at", UTCDateTime, nullable=True, info=system("business-messages")),
    Column("read_at", UTCDateTime, nullable=True, info=system("business-messages")),
    Column("failed_at", UTCDateTime, nullable=True, info=system("business-messages")),
    Index("ix_business_messages_conversation_position", "conversation_id", "position"),
    Index("ix_business_messages_delivered_at", "delivered_at"),
)

# The webhook subscription of a business: where its events go and how they are signed.
business_webhooks = Table(
    "business_webhooks",
    metadata,
    Column(
        "business_id",
        String(26),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        primary_key=True,
        info=system(),
    ),
    Column("callback_url", String(1024), nullable=False, info=system()),
    Column("verify_token_enc", LargeBinary, nullable=False, info=system()),
    Column("app_secret_enc", LargeBinary, nullable=False, info=system()),
    Column("verified_at", UTCDateTime, nullable=True, info=system()),
    Column("updated_at", UTCDateTime, nullable=False, info=system()),
)

# The webhook outbox: one row per POST, its body fixed (and sealed) when it is made, so
# every retry sends the same bytes with the same signature. `seq` orders a conversation.
business_webhook_events = Table(
    "business_webhook_events",
    metadata,
    Column("id", String(26), primary_key=True, info=system("webhook-log")),
    Column(
        "business_id",
        String(26),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
        info=system("webhook-log"),
    ),
    # "c:<conversation id>" or "t:<template id>": events with one key go out in order.
    Column("ordering_key", String(40), nullable=False, info=system("webhook-log")),
    Column("field", String(48), nullable=False, info=system("webhook-log")),
    Column(
        "body_enc",
        LargeBinary,
        nullable=True,
        info=data("user.content.private", "essential.service", "webhook-log", encrypted=True),
    ),
    # pending | sending | delivered | dead
    Column("state", String(10), nullable=False, info=system("webhook-log")),
    Column("attempts", Integer, nullable=False, default=0, info=system("webhook-log")),
    Column("created_at", UTCDateTime, nullable=False, info=system("webhook-log")),
    Column("delivered_at", UTCDateTime, nullable=True, info=system("webhook-log")),
    # Delivery (webhook_delivery.py): not tried before `next_attempt_at`; an attempt is
    # in flight until `lease_until`; given up after `expires_at` (None: the retry period
    # from `created_at`; a replay sets it anew).
    Column("next_attempt_at", UTCDateTime, nullable=True, info=system("webhook-log")),
    Column("lease_until", UTCDateTime, nullable=True, info=system("webhook-log")),
    Column("expires_at", UTCDateTime, nullable=True, info=system("webhook-log")),
    Index("ix_business_webhook_events_key_state", "ordering_key", "state", "id"),
    Index("ix_business_webhook_events_business_created", "business_id", "created_at"),
)

# The delivery log: one row per attempt.
business_webhook_attempts = Table(
    "business_webhook_attempts",
    metadata,
    Column("id", String(26), primary_key=True, info=system("webhook-log")),
    Column(
        "event_id",
        String(26),
        ForeignKey("business_webhook_events.id", ondelete="CASCADE"),
        nullable=False,
        info=system("webhook-log"),
    ),
    Column("at", UTCDateTime, nullable=False, info=system("webhook-log")),
    Column("status_code", Integer, nullable=True, info=system("webhook-log")),
    Column("error", String(256), nullable=True, info=system("webhook-log")),
    Column("duration_ms", Integer, nullable=False, info=system("webhook-log")),
    Index("ix_business_webhook_attempts_event_id", "event_id"),
)
