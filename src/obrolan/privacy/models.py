"""Privacy tables: the hash-chained audit log and people's data requests."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    false,
)

from obrolan.db import UTCDateTime, data, metadata, system
from obrolan.db.base import Position

# Append-only: rows are only ever inserted (and, past the "audit-log" rule, removed from
# the oldest end). Each row carries the hash of the one before it, so an edit, a removal
# or an insertion out of order breaks the chain where it happened (R7).
audit_log = Table(
    "audit_log",
    metadata,
    # The chain's order: 1, 2, 3, ... with no gap (a gap is a removed entry).
    Column("seq", Position, primary_key=True, autoincrement=False, info=system("audit-log")),
    Column("id", String(26), nullable=False, unique=True, info=system("audit-log")),
    Column("at", UTCDateTime, nullable=False, info=system("audit-log")),
    # Who did it: a person, an operator (a person with operator rights) or obrolan itself.
    # Ids only: after an erasure the entries stay, about a pseudonymous id (R4, R7).
    Column(
        "actor_id",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service.security", "audit-log"),
    ),
    Column("actor_role", String(16), nullable=False, info=system("audit-log")),
    Column("action", String(64), nullable=False, info=system("audit-log")),
    # Whom it is about: the person who sees it in their own audit view.
    Column(
        "subject_id",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service.security", "audit-log"),
    ),
    # JSON of ids, counts, names of rules and reasons an operator wrote: never a
    # person's personal data in clear.
    Column(
        "detail",
        LargeBinary,
        nullable=False,
        info=data("user.unique_id", "essential.service.security", "audit-log"),
    ),
    Column("prev_hash", LargeBinary(32), nullable=False, info=system("audit-log")),
    Column("hash", LargeBinary(32), nullable=False, info=system("audit-log")),
    Index("ix_audit_log_subject_id", "subject_id"),
)

# A person's request about their data (R1, R4, R8, R13), with its legal deadline.
privacy_requests = Table(
    "privacy_requests",
    metadata,
    Column("id", String(26), primary_key=True, info=system("privacy-request")),
    Column(
        "user_id",
        String(26),
        nullable=False,
        info=data("user.unique_id", "essential.service", "privacy-request"),
    ),
    # access | rectification | erasure | restriction | objection
    Column("kind", String(16), nullable=False, info=system("privacy-request")),
    # received | in_progress | done | refused | cancelled
    Column("status", String(16), nullable=False, info=system("privacy-request")),
    # Who opened it: the person, or an operator on their behalf.
    Column(
        "opened_by",
        String(26),
        nullable=False,
        info=data("user.unique_id", "essential.service", "privacy-request"),
    ),
    Column("opened_by_operator", Boolean, nullable=False, info=system("privacy-request")),
    # What the person wrote (what to correct, why they object), sealed under their key.
    Column(
        "note_enc",
        LargeBinary,
        nullable=True,
        info=data("user.content", "essential.service", "privacy-request", encrypted=True),
    ),
    # Why an operator refused, or what they did: written by the operator.
    Column(
        "resolution",
        String(2000),
        nullable=True,
        info=data("user.content", "essential.service", "privacy-request"),
    ),
    # 0..100 while a job works on it (an export).
    Column("progress", Integer, nullable=False, info=system("privacy-request")),
    Column("created_at", UTCDateTime, nullable=False, info=system("privacy-request")),
    Column("deadline_at", UTCDateTime, nullable=False, info=system("privacy-request")),
    Column("done_at", UTCDateTime, nullable=True, info=system("privacy-request")),
    # An erasure runs at this moment, unless cancelled before.
    Column("due_at", UTCDateTime, nullable=True, info=system("privacy-request")),
    # Erasure: SHA-256 of the cancel code mailed to the person, who can no longer sign in.
    Column(
        "cancel_code_hash",
        LargeBinary(32),
        nullable=True,
        unique=True,
        info=data(
            "user.authorization.credentials", "essential.service.authentication", "privacy-request"
        ),
    ),
    # Erasure: whether this request closed the account (then cancelling it reopens it).
    Column(
        "closed_account",
        Boolean,
        nullable=False,
        server_default=false(),
        info=system("privacy-request"),
    ),
    Index("ix_privacy_requests_user_id", "user_id"),
    Index("ix_privacy_requests_status_deadline_at", "status", "deadline_at"),
)

# A lawful access request (R7): the only way an operator reads a room's messages. Filed
# by one operator with a reason and a legal basis for named rooms and a bounded window,
# decided by a second; every step and every read is also in the audit log, which is the
# evidence (these rows are the working state).
lawful_access_requests = Table(
    "lawful_access_requests",
    metadata,
    Column("id", String(26), primary_key=True, info=system("audit-log")),
    # The operator who filed it, and who alone reads under it.
    Column(
        "requested_by",
        String(26),
        nullable=False,
        info=data("user.unique_id", "essential.legal_obligation", "audit-log"),
    ),
    # Written by the operator: why, and under which law or order.
    Column(
        "reason",
        String(2000),
        nullable=False,
        info=data("user.content", "essential.legal_obligation", "audit-log"),
    ),
    Column(
        "legal_basis",
        String(500),
        nullable=False,
        info=data("user.content", "essential.legal_obligation", "audit-log"),
    ),
    # When reading is allowed, once approved: at most 30 days.
    Column("starts_at", UTCDateTime, nullable=False, info=system("audit-log")),
    Column("ends_at", UTCDateTime, nullable=False, info=system("audit-log")),
    # A legal hold: until then the people read about do not see the reads.
    Column("hold_until", UTCDateTime, nullable=True, info=system("audit-log")),
    # pending | approved | refused | expired
    Column("status", String(16), nullable=False, info=system("audit-log")),
    # The second operator who approved or refused it, and what they wrote.
    Column(
        "decided_by",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.legal_obligation", "audit-log"),
    ),
    Column("decided_at", UTCDateTime, nullable=True, info=system("audit-log")),
    Column(
        "decision_note",
        String(2000),
        nullable=True,
        info=data("user.content", "essential.legal_obligation", "audit-log"),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system("audit-log")),
    Index("ix_lawful_access_requests_status_ends_at", "status", "ends_at"),
)

# The rooms a lawful access request names: reading any other room is refused.
lawful_access_rooms = Table(
    "lawful_access_rooms",
    metadata,
    Column(
        "request_id",
        String(26),
        ForeignKey("lawful_access_requests.id", ondelete="CASCADE"),
        primary_key=True,
        info=system("audit-log"),
    ),
    Column("room_id", String(26), primary_key=True, info=system("audit-log")),
)
