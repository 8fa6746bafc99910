"""Pure Cloud API message decisions: a send's body checked and turned into what a
person's chat shows, and the webhook values that report messages and statuses.

No I/O. Errors are GraphErrors with the Cloud API's codes (COMPAT.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from obrolan.business.graph import GraphError, missing_parameter, parameter_value

TEXT_MAX = 4096
CAPTION_MAX = 1024
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
LIST_ROWS_MAX = 10
ROW_TITLE_MAX = 24

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
SEND_TYPES = ("text", "template", "reaction", "interactive", "contacts", "location", *MEDIA_TYPES)
# Media that take a caption (audio and stickers do not).
_CAPTIONED = ("image", "video", "document")
_MEDIA_LABEL = {
    "image": "📷 Photo",
    "video": "🎬 Video",
    "audio": "🎵 Audio",
    "document": "📄 Document",
    "sticker": "Sticker",
}


@dataclass(frozen=True, slots=True)
class Option:
    """A reply button or a list row: what the person may answer with."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A checked send: its type, the text the person's chat shows, and what else it needs."""

    type: str
    text: str = ""
    reply_to: str | None = None  # the wamid of `context.message_id`
    media_id: str | None = None
    template: dict[str, Any] | None = None  # name, language, components
    reaction: tuple[str, str] | None = None  # (wamid, emoji); "" removes
    options: list[Option] = field(default_factory=list)
    interactive_type: str | None = None  # "button" | "list"
    callback_data: str | None = None


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        raise missing_parameter(f"{name} is required for a message of type {name}")
    if not isinstance(value, dict):
        raise parameter_value(f"{name} must be an object")
    return value


def _text(value: Any, where: str, limit: int, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise missing_parameter(f"{where} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise parameter_value(f"{where} must be non-empty text")
    if len(value) > limit:
        raise parameter_value(f"{where} has at most {limit} characters")
    return value


def parse_send(body: dict[str, Any]) -> Outgoing:
    """Check a `POST /{phone_number_id}/messages` body (not a mark-as-read)."""
    if body.get("messaging_product") != "whatsapp":
        raise GraphError(100, "Invalid parameter", details="messaging_product must be 'whatsapp'")
    if body.get("recipient_type", "individual") != "individual":
        raise parameter_value("recipient_type: only 'individual' is supported")
    kind = body.get("type", "text")
    if kind not in SEND_TYPES:
        raise parameter_value(f"type: one of {', '.join(SEND_TYPES)}")
    reply_to = None
    if body.get("context") is not None:
        context = body["context"]
        if not isinstance(context, dict) or not isinstance(context.get("message_id"), str):
            raise parameter_value("context.message_id must be a message id")
        reply_to = context["message_id"]
    callback = body.get("biz_opaque_callback_data")
    if callback is not None and (not isinstance(callback, str) or len(callback) > 512):
        raise parameter_value("biz_opaque_callback_data is text of at most 512 characters")
    parsed = _PARSERS[kind](body, kind)
    return Outgoing(
        type=kind,
        text=parsed.text,
        reply_to=reply_to,
        media_id=parsed.media_id,
        template=parsed.template,
        reaction=parsed.reaction,
        options=parsed.options,
        interactive_type=parsed.interactive_type,
        callback_data=callback,
    )


def _parse_text(body: dict[str, Any], kind: str) -> Outgoing:
    text = _object(body, "text")
    value = _text(text.get("body"), "text.body", TEXT_MAX)
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise parameter_value("text.preview_url must be true or false")
    return Outgoing(kind, value or "")


def _parse_media(body: dict[str, Any], kind: str) -> Outgoing:
    media = _object(body, kind)
    media_id, link = media.get("id"), media.get("link")
    if (media_id is None) == (link is None):
        raise parameter_value(f"{kind} needs exactly one of id and link")
    if media_id is not None and not isinstance(media_id, str):
        raise parameter_value(f"{kind}.id must be a media id")
    if link is not None and not (
        isinstance(link, str) and link.startswith(("https://", "http://"))
    ):
        raise parameter_value(f"{kind}.link must be an http(s) URL")
    caption = _text(media.get("caption"), f"{kind}.caption", CAPTION_MAX, required=False)
    if caption is not None and kind not in _CAPTIONED:
        raise parameter_value(f"{kind} takes no caption")
    label = _MEDIA_LABEL[kind]
    if kind == "document" and isinstance(media.get("filename"), str):
        label = f"📄 {media['filename'][:240]}"
    lines = [label, *([caption] if caption else []), *([link] if link else [])]
    return Outgoing(kind, "\n".join(lines), media_id=media_id)


def _parse_reaction(body: dict[str, Any], kind: str) -> Outgoing:
    reaction = _object(body, "reaction")
    target = reaction.get("message_id")
    emoji = reaction.get("emoji", "")
    if not isinstance(target, str) or not target:
        raise missing_parameter("reaction.message_id is required")
    if not isinstance(emoji, str) or len(emoji) > 32:
        raise parameter_value("reaction.emoji is one emoji, or empty to remove")
    return Outgoing(kind, reaction=(target, emoji))


def _parse_template(body: dict[str, Any], kind: str) -> Outgoing:
    template = _object(body, "template")
    name = template.get("name")
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    if not isinstance(name, str) or not name:
        raise missing_parameter("template.name is required")
    if not isinstance(code, str) or not code:
        raise missing_parameter("template.language.code is required")
    components = template.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise parameter_value("template.components must be a list of objects")
    return Outgoing(kind, template={"name": name, "language": code, "components": components})


def _parse_interactive(body: dict[str, Any], kind: str) -> Outgoing:
    interactive = _object(body, "interactive")
    itype = interactive.get("type")
    if itype not in ("button", "list"):
        raise parameter_value("interactive.type: 'button' or 'list'")
    body_text = _text((interactive.get("body") or {}).get("text"), "interactive.body.text", 1024)
    action = interactive.get("action")
    if not isinstance(action, dict):
        raise missing_parameter("interactive.action is required")
    header = interactive.get("header")
    header_text = header.get("text") if isinstance(header, dict) else None
    footer = interactive.get("footer")
    footer_text = footer.get("text") if isinstance(footer, dict) else None
    options = _buttons(action) if itype == "button" else _rows(action)
    shown = [*([header_text] if header_text else []), body_text or ""]
    if footer_text:
        shown.append(footer_text)
    if itype == "button":
        shown.append("  ".join(f"[{o.title}]" for o in options))
    else:
        shown.append(f"{action['button']}:")
        shown.extend(
            f"• {o.title}" + (f" — {o.description}" if o.description else "") for o in options
        )
    return Outgoing(kind, "\n".join(shown), options=options, interactive_type=itype)


def _buttons(action: dict[str, Any]) -> list[Option]:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        raise parameter_value(f"interactive.action.buttons: 1 to {BUTTONS_MAX} buttons")
    options = []
    for i, button in enumerate(buttons):
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict):
            raise parameter_value(f"interactive.action.buttons[{i}].reply is required")
        option_id = _text(reply.get("id"), f"buttons[{i}].reply.id", 256)
        title = _text(reply.get("title"), f"buttons[{i}].reply.title", BUTTON_TITLE_MAX)
        options.append(Option(option_id or "", title or ""))
    if len({o.title for o in options}) != len(options) or len({o.id for o in options}) != len(
        options
    ):
        raise parameter_value("interactive buttons need distinct ids and titles")
    return options


def _rows(action: dict[str, Any]) -> list[Option]:
    _text(action.get("button"), "interactive.action.button", BUTTON_TITLE_MAX)
    sections = action.get("sections")
    if not isinstance(sections, list) or not sections:
        raise parameter_value("interactive.action.sections: at least one section")
    options = []
    for s, section in enumerate(sections):
        rows = section.get("rows") if isinstance(section, dict) else None
        if not isinstance(rows, list) or not rows:
            raise parameter_value(f"sections[{s}].rows: at least one row")
        for r, row in enumerate(rows):
            if not isinstance(row, dict):
                raise parameter_value(f"sections[{s}].rows[{r}] must be an object")
            options.append(
                Option(
                    _text(row.get("id"), f"sections[{s}].rows[{r}].id", 200) or "",
                    _text(row.get("title"), f"sections[{s}].rows[{r}].title", ROW_TITLE_MAX) or "",
                    _text(row.get("description"), f"rows[{r}].description", 72, required=False),
                )
            )
    if not 1 <= len(options) <= LIST_ROWS_MAX:
        raise parameter_value(f"an interactive list has 1 to {LIST_ROWS_MAX} rows")
    if len({o.id for o in options}) != len(options):
        raise parameter_value("list rows need distinct ids")
    return options


def _parse_contacts(body: dict[str, Any], kind: str) -> Outgoing:
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise missing_parameter("contacts is a list of at least one contact")
    lines = []
    for i, contact in enumerate(contacts):
        name = (contact.get("name") or {}) if isinstance(contact, dict) else {}
        raw = name.get("formatted_name") if isinstance(name, dict) else None
        formatted = _text(raw, f"contacts[{i}].name.formatted_name", 256) or ""
        phones = contact.get("phones") or []
        numbers = [p.get("phone") for p in phones if isinstance(p, dict) and p.get("phone")]
        lines.append("👤 " + ", ".join([formatted, *[str(n) for n in numbers]]))
    return Outgoing(kind, "\n".join(lines))


def _parse_location(body: dict[str, Any], kind: str) -> Outgoing:
    location = _object(body, "location")
    try:
        latitude = float(location["latitude"])
        longitude = float(location["longitude"])
    except (KeyError, TypeError, ValueError) as exc:
        raise missing_parameter("location.latitude and location.longitude are numbers") from exc
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise parameter_value("location: latitude -90..90, longitude -180..180")
    name = _text(location.get("name"), "location.name", 256, required=False)
    address = _text(location.get("address"), "location.address", 512, required=False)
    lines = [f"📍 {name}" if name else "📍", *([address] if address else [])]
    lines.append(f"https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}")
    return Outgoing(kind, "\n".join(lines))


_PARSERS = {
    "text": _parse_text,
    "template": _parse_template,
    "reaction": _parse_reaction,
    "interactive": _parse_interactive,
    "contacts": _parse_contacts,
    "location": _parse_location,
    **dict.fromkeys(MEDIA_TYPES, _parse_media),
}


# -- what a person's answer means to the business ------------------------------------------


def answered_option(text: str, options: list[Option]) -> Option | None:
    """The button or row a reply to an interactive message picked: its title, as sent."""
    wanted = text.strip().casefold()
    return next((o for o in options if o.title.casefold() == wanted), None)


# -- webhook values (COMPAT.md §1 "Webhook POST") -------------------------------------------


def timestamp(at: datetime) -> str:
    return str(int(at.timestamp()))


def metadata(display_phone_number: str, number_id: str) -> dict[str, str]:
    return {"display_phone_number": display_phone_number, "phone_number_id": number_id}


def contact(wa_id: str, user_id: str, name: str | None) -> dict[str, Any]:
    """A contact as pywa 4 reads it: `user_id` always present (pywa/types/user.py)."""
    found: dict[str, Any] = {"wa_id": wa_id, "user_id": user_id}
    if name is not None:
        found["profile"] = {"name": name}
    return found


@dataclass(frozen=True, slots=True)
class StatusReport:
    wamid: str
    status: str  # sent | delivered | read | failed
    at: datetime
    recipient: str  # wa_id
    recipient_user_id: str
    conversation_id: str | None
    window_closes_at: datetime | None
    category: str  # service | marketing | utility | authentication
    error: tuple[int, str, str] | None = None  # (code, title, details)
    callback_data: str | None = None


ERROR_TITLES = {
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131050: "User has stopped marketing messages",
}


def status_value(meta: dict[str, str], who: dict[str, Any], report: StatusReport) -> dict[str, Any]:
    status: dict[str, Any] = {
        "id": report.wamid,
        "status": report.status,
        "timestamp": timestamp(report.at),
        "recipient_id": report.recipient,
        "recipient_user_id": report.recipient_user_id,
    }
    if report.status != "failed":
        conversation: dict[str, Any] = {
            "id": report.conversation_id,
            "origin": {"type": report.category},
        }
        if report.window_closes_at is not None:
            conversation["expiration_timestamp"] = timestamp(report.window_closes_at)
        status["conversation"] = conversation
        status["pricing"] = {"billable": True, "pricing_model": "PMP", "category": report.category}
    if report.callback_data is not None:
        status["biz_opaque_callback_data"] = report.callback_data
    if report.error is not None:
        code, title, details = report.error
        status["errors"] = [
            {"code": code, "title": title, "message": title, "error_data": {"details": details}}
        ]
    return {
        "messaging_product": "whatsapp",
        "metadata": meta,
        "contacts": [who],
        "statuses": [status],
    }


def message_value(
    meta: dict[str, str], who: dict[str, Any], message: dict[str, Any]
) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": meta,
        "contacts": [who],
        "messages": [message],
    }
