"""Account tables: people, their wrapped data keys, sessions, and throttling."""

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
)

from obrolan.db import UTCDateTime, data, metadata, system

users = Table(
    "users",
    metadata,
    Column(
        "id",
        String(26),
        primary_key=True,
        info=data("user.unique_id", "essential.service", "account"),
    ),
    Column(
        "username",
        String(32),
        nullable=False,
        unique=True,
        info=data("user.account.username", "essential.service", "account"),
    ),
    Column(
        "display_name_enc",
        LargeBinary,
        nullable=False,
        info=data("user.name", "essential.service", "account", encrypted=True),
    ),
    Column(
        "email_enc",
        LargeBinary,
        nullable=True,
        info=data("user.contact.email", "essential.service", "account", encrypted=True),
    ),
    # Keyed HMAC of the normalised email: uniqueness and look-up without plaintext (R6).
    Column(
        "email_index",
        LargeBinary(32),
        nullable=True,
        unique=True,
        info=data("user.contact.email", "essential.service", "account"),
    ),
    Column(
        "phone_enc",
        LargeBinary,
        nullable=True,
        info=data("user.contact.phone_number", "essential.service", "account", encrypted=True),
    ),
    Column(
        "phone_index",
        LargeBinary(32),
        nullable=True,
        unique=True,
        info=data("user.contact.phone_number", "essential.service", "account"),
    ),
    Column(
        "password_hash",
        String(200),
        nullable=False,
        info=data("user.authorization.credentials", "essential.service.authentication", "account"),
    ),
    Column(
        "totp_secret_enc",
        LargeBinary,
        nullable=True,
        info=data(
            "user.authorization.credentials",
            "essential.service.authentication",
            "account",
            encrypted=True,
        ),
    ),
    Column("totp_enabled", Boolean, nullable=False, default=False, info=system()),
    # The 30-second step of the last TOTP code accepted: a code is good once (RFC 6238 §5.2).
    Column("totp_last_step", Integer, nullable=True, info=system()),
    Column("is_admin", Boolean, nullable=False, default=False, info=system()),
    Column("created_at", UTCDateTime, nullable=False, info=system()),
    Column("closed_at", UTCDateTime, nullable=True, info=system()),
    # F1: set when the person entered the code sent to the address; only a verified
    # address holds its blind index, signs in and can be found (accounts/verification.py).
    Column("email_verified_at", UTCDateTime, nullable=True, info=system()),
    Column("phone_verified_at", UTCDateTime, nullable=True, info=system()),
    # R8: while set, the account is restricted: readable by its owner, used for nothing
    # else (obrolan.privacy.requests). Set and lifted through a restriction request.
    Column("restricted_at", UTCDateTime, nullable=True, info=system()),
    # R8: the person objected to processing for any purpose other than the service itself.
    Column("objected_at", UTCDateTime, nullable=True, info=system()),
    # R3, R4: when the erasure emptied this row; it stays as a tombstone without personal
    # data so that other rows' references to the id hold.
    Column("erased_at", UTCDateTime, nullable=True, info=system()),
    # The erasure job looks for accounts closed long enough ago (R3) at every run.
    Index("ix_users_closed_at", "closed_at"),
)

# The one pending code per person and channel (email or phone), F1. The code is kept
# only as a keyed HMAC: 10^6 codes are few enough to try them all against a copied
# hash, but the HMAC key lives with the KEK, not in the database, and online guesses
# end after `attempts` reach the limit (see rules.verification_outcome).
verification_codes = Table(
    "verification_codes",
    metadata,
    Column(
        "user_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        info=data("user.unique_id", "essential.service.authentication", "verification-code"),
    ),
    Column(
        "channel", String(8), primary_key=True, info=system("verification-code")
    ),  # "email" | "phone"
    # Which address the code was sent to (its blind index): a code confirms that one only.
    Column(
        "address_index",
        LargeBinary(32),
        nullable=False,
        info=data("user.contact", "essential.service.authentication", "verification-code"),
    ),
    Column(
        "code_hash",
        LargeBinary(32),
        nullable=False,
        info=data(
            "user.authorization.credentials",
            "essential.service.authentication",
            "verification-code",
        ),
    ),
    Column("attempts", Integer, nullable=False, info=system("verification-code")),
    Column("expires_at", UTCDateTime, nullable=False, info=system("verification-code")),
    Column("created_at", UTCDateTime, nullable=False, info=system("verification-code")),
)

# The wrapped data keys are not here but in the key store (obrolan.crypto.keystore), so
# that no backup of this database holds them (R4).

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", String(26), primary_key=True, info=system("session")),
    Column(
        "user_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info=data("user.unique_id", "essential.service.authentication", "session"),
    ),
    # SHA-256 of the bearer token: the token itself is never stored.
    Column(
        "token_hash",
        LargeBinary(32),
        nullable=False,
        unique=True,
        info=data("user.authorization.credentials", "essential.service.authentication", "session"),
    ),
    Column(
        "device_name_enc",
        LargeBinary,
        nullable=True,
        info=data("user.device", "essential.service.security", "session", encrypted=True),
    ),
    Column(
        "ip_address_enc",
        LargeBinary,
        nullable=True,
        info=data(
            "user.device.ip_address", "essential.service.security", "session", encrypted=True
        ),
    ),
    Column(
        "user_agent_enc",
        LargeBinary,
        nullable=True,
        info=data("user.device", "essential.service.security", "session", encrypted=True),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system("session")),
    Column("last_seen_at", UTCDateTime, nullable=False, info=system("session")),
    Column("revoked_at", UTCDateTime, nullable=True, info=system("session")),
    Index("ix_auth_sessions_user_id", "user_id"),
)

# Failed sign-ins, counted per account and per IP address (both as keyed hashes) (R17).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", String(26), primary_key=True, info=system("throttle")),
    Column("scope", String(8), nullable=False, info=system("throttle")),  # "account" | "ip"
    Column(
        "key_hash",
        LargeBinary(32),
        nullable=False,
        info=data("user.device.ip_address", "essential.service.security", "throttle"),
    ),
    Column("at", UTCDateTime, nullable=False, info=system("throttle")),
    Index("ix_login_failures_scope_key_hash_at", "scope", "key_hash", "at"),
)

# Sign-ups, address changes and look-ups, counted per client address and per account (as keyed
# hashes) to limit how fast anyone can make accounts or try addresses (R17, R18).
throttled_actions = Table(
    "throttled_actions",
    metadata,
    Column("id", String(26), primary_key=True, info=system("throttle")),
    # "register-ip" | "address-account" | "address-ip" | "code-address" | "lookup-account"
    Column("scope", String(16), nullable=False, info=system("throttle")),
    Column(
        "key_hash",
        LargeBinary(32),
        nullable=False,
        info=data("user.device.ip_address", "essential.service.security", "throttle"),
    ),
    Column("at", UTCDateTime, nullable=False, info=system("throttle")),
    Index("ix_throttled_actions_scope_key_hash_at", "scope", "key_hash", "at"),
)

# Who may find a person and how strangers' direct chats reach them (F14, R18). No row
# means the defaults (records.ContactSettings); a row is written on the first change.
contact_settings = Table(
    "contact_settings",
    metadata,
    Column(
        "user_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        info=data("user.unique_id", "essential.service", "account"),
    ),
    Column(
        "findable_by_username",
        Boolean,
        nullable=False,
        info=data("user.account.settings", "essential.service", "account"),
    ),
    Column(
        "message_requests",
        Boolean,
        nullable=False,
        info=data("user.account.settings", "essential.service", "account"),
    ),
    # Look-ups by verified email and phone (accounts/verification.py, Addresses.find).
    Column(
        "findable_by_email",
        Boolean,
        nullable=False,
        info=data("user.account.settings", "essential.service", "account"),
    ),
    Column(
        "findable_by_phone",
        Boolean,
        nullable=False,
        info=data("user.account.settings", "essential.service", "account"),
    ),
    Column("updated_at", UTCDateTime, nullable=False, info=system()),
)
