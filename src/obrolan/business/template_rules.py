"""Message templates' rules (item 4), pure: what a submission must look like, when it is
rejected automatically (as Meta's review does), and how a send's parameters fill it in.

A malformed submission (not the Cloud API's shape) is refused with a Graph error; a
well-formed one that breaks a content rule is kept, REJECTED, with Meta's reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from obrolan.business.graph import GraphError, invalid_parameter, missing_parameter, parameter_value

NAME = re.compile(r"^[a-z0-9_]{1,512}$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
# The languages Meta accepts for templates (its "Supported languages" list).
_LANGUAGE_CODES = """
af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs da
prs_AF nl nl_BE en en_AE en_AU en_CA en_GB en_GH en_IE en_IN en_JM en_MY en_NZ en_QA en_SG
en_UG en_US en_ZA et fil fi fr fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el gu ha he
hi hu id ga it ja kn kk rw_RW ko ky_KG lo lv lt mk ms ml mr nb ne fa pl pt_BR pt_PT pa ro
ru sr si_LK sk sl es es_AR es_CL es_CO es_CR es_DO es_EC es_HN es_MX es_PA es_PE es_ES
es_UY sw sv ta te th tr uk ur uz vi zu
"""
LANGUAGES = frozenset(_LANGUAGE_CODES.split())
HEADER_FORMATS = ("TEXT", "IMAGE", "DOCUMENT", "VIDEO", "LOCATION")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE")
COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS")

HEADER_MAX = 60
BODY_MAX = 1024
FOOTER_MAX = 60
BUTTONS_MAX = 10
BUTTON_TEXT_MAX = 25
URL_MAX = 2000
PHONE_MAX = 20
CODE_MAX = 15
# Meta rejects a body whose parameters outweigh its words; we ask two words per parameter.
WORDS_PER_PARAMETER = 2

INVALID_FORMAT = "INVALID_FORMAT"

# `{{1}}` or `{{first_name}}`; anything else between double braces is malformed.
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_POSITIONAL = re.compile(r"^[1-9][0-9]{0,2}$")
_NAMED = re.compile(r"^[a-z_][a-z0-9_]{0,59}$")

PARAMETER_TYPES = (
    "text",
    "currency",
    "date_time",
    "payload",
    "coupon_code",
    "image",
    "document",
    "video",
    "location",
)
_PARAMETER_MISMATCH = "Number of parameters does not match the expected number of params"


@dataclass(frozen=True, slots=True)
class Submission:
    """A well-formed template: its components normalised (types and formats upper case)."""

    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    parameter_format: str  # POSITIONAL | NAMED


@dataclass(frozen=True, slots=True)
class Checked:
    submission: Submission
    rejected_reason: str | None  # Meta's reason when rejected automatically
    detail: str | None  # which rule, in words (Meta answers only with the reason)


@dataclass(frozen=True, slots=True)
class RenderedTemplate:
    template_id: str
    name: str
    language: str
    category: str
    header: str | None  # rendered header text (TEXT format)
    header_media: dict[str, Any] | None  # {"type": "image", "link"|"id": ...} for media headers
    body: str
    footer: str | None
    buttons: list[dict[str, Any]]

    @property
    def text(self) -> str:
        """What a person's chat shows: header, body and footer, a blank line between."""
        return "\n\n".join(p for p in (self.header, self.body, self.footer) if p)


# -- submission -----------------------------------------------------------------------------
def check_submission(body: Mapping[str, Any]) -> Checked:
    """A creation request, checked: GraphError (100) if malformed, else the submission and
    the reason it is rejected automatically, if it is."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise missing_parameter("name is required")
    if not NAME.match(name):
        raise invalid_parameter("name has only lowercase letters, digits and underscores (≤512)")
    language = body.get("language")
    if not isinstance(language, str) or not language:
        raise missing_parameter("language is required")
    if language not in LANGUAGES:
        raise invalid_parameter(f"language {language!r} is not a supported template language")
    return check_content(name, language, body)


def check_content(name: str, language: str, body: Mapping[str, Any]) -> Checked:
    """Category, components and parameter format of a creation or an edit."""
    category = body.get("category")
    if not isinstance(category, str) or category.upper() not in CATEGORIES:
        raise invalid_parameter("category is one of MARKETING, UTILITY, AUTHENTICATION")
    parameter_format = body.get("parameter_format", "POSITIONAL")
    if not isinstance(parameter_format, str) or parameter_format.upper() not in (
        "POSITIONAL",
        "NAMED",
    ):
        raise invalid_parameter("parameter_format is POSITIONAL or NAMED")
    components = normalised_components(body.get("components"))
    submission = Submission(name, language, category.upper(), components, parameter_format.upper())
    problem = content_problem(submission)
    if problem is None:
        return Checked(submission, None, None)
    return Checked(submission, INVALID_FORMAT, problem)


def normalised_components(raw: Any) -> list[dict[str, Any]]:
    """The components in the Cloud API's shape, or GraphError 100."""
    if not isinstance(raw, list) or not raw:
        raise invalid_parameter("components is a non-empty list")
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise invalid_parameter("each component is an object with a type")
        kind = item["type"].upper()
        if kind not in COMPONENT_TYPES:
            raise invalid_parameter(f"component type {item['type']!r} is not known")
        if kind in seen:
            raise invalid_parameter(f"only one {kind} component")
        seen.add(kind)
        component = {**item, "type": kind}
        if kind == "HEADER":
            fmt = item.get("format")
            if not isinstance(fmt, str) or fmt.upper() not in HEADER_FORMATS:
                raise invalid_parameter("HEADER format is TEXT, IMAGE, DOCUMENT, VIDEO or LOCATION")
            component["format"] = fmt.upper()
            if component["format"] == "TEXT":
                _require_text(item, "HEADER")
            elif component["format"] != "LOCATION":
                # A sample of the media, as Meta asks (and client libraries read back).
                handle = item.get("example", {})
                handle = handle.get("header_handle") if isinstance(handle, dict) else None
                if not _strings(handle):
                    raise invalid_parameter("a media HEADER needs example.header_handle")
        elif kind in ("BODY", "FOOTER"):
            _require_text(item, kind)
        else:
            component["buttons"] = _normalised_buttons(item.get("buttons"))
        if "example" in item and not isinstance(item["example"], dict):
            raise invalid_parameter(f"{kind} example is an object")
        out.append(component)
    if "BODY" not in seen:
        raise missing_parameter("a BODY component is required")
    return out


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _require_text(item: Mapping[str, Any], kind: str) -> None:
    if not isinstance(item.get("text"), str) or not item["text"]:
        raise invalid_parameter(f"{kind} needs its text")


def _normalised_buttons(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise invalid_parameter("BUTTONS has a non-empty list of buttons")
    buttons = []
    for button in raw:
        if not isinstance(button, dict) or not isinstance(button.get("type"), str):
            raise invalid_parameter("each button is an object with a type")
        kind = button["type"].upper()
        if kind not in BUTTON_TYPES:
            raise invalid_parameter(f"button type {button['type']!r} is not known")
        if not isinstance(button.get("text"), str) or not button["text"]:
            raise invalid_parameter(f"a {kind} button needs its text")
        needed = {"URL": "url", "PHONE_NUMBER": "phone_number"}.get(kind)
        if needed and not isinstance(button.get(needed), str):
            raise invalid_parameter(f"a {kind} button needs its {needed}")
        buttons.append({**button, "type": kind})
    return buttons


def placeholders(text: str) -> list[str]:
    """The parameters of a text, in order of appearance (stripped of spaces)."""
    return [p.strip() for p in _PLACEHOLDER.findall(text)]


def content_problem(submission: Submission) -> str | None:
    """Why Meta's review would reject this template (INVALID_FORMAT), or None."""
    named = submission.parameter_format == "NAMED"
    for component in submission.components:
        problem = _component_problem(component, named)
        if problem is not None:
            return problem
    return None


def _component_problem(component: dict[str, Any], named: bool) -> str | None:
    kind = component["type"]
    example = component.get("example") or {}
    if kind == "HEADER":
        if component["format"] != "TEXT":
            return None
        text = component["text"]
        if len(text) > HEADER_MAX:
            return f"the header has more than {HEADER_MAX} characters"
        params = placeholders(text)
        if len(params) > 1:
            return "a header has at most one parameter"
        return _parameters_problem("header", params, named) or _example_problem(
            "header", params, named, example
        )
    if kind == "BODY":
        text = component["text"]
        if len(text) > BODY_MAX:
            return f"the body has more than {BODY_MAX} characters"
        params = placeholders(text)
        problem = _parameters_problem("body", params, named)
        if problem or not params:
            return problem
        stripped = text.strip()
        if stripped.startswith("{{") or stripped.endswith("}}"):
            return "the body starts or ends with a parameter"
        words = len(_PLACEHOLDER.sub(" ", text).split())
        if words < WORDS_PER_PARAMETER * len(set(params)):
            return "too many parameters for the length of the body"
        return _example_problem("body", params, named, example)
    if kind == "FOOTER":
        if len(component["text"]) > FOOTER_MAX:
            return f"the footer has more than {FOOTER_MAX} characters"
        if placeholders(component["text"]):
            return "a footer has no parameters"
        return None
    return _buttons_problem(component["buttons"])


def _parameters_problem(where: str, params: list[str], named: bool) -> str | None:
    if not params:
        return None
    if named:
        if not all(_NAMED.match(p) for p in params):
            return f"the {where}'s parameters are not all named like {{{{first_name}}}}"
        return None
    if not all(_POSITIONAL.match(p) for p in params):
        return f"the {where}'s parameters are not all positional like {{{{1}}}}"
    numbers = sorted({int(p) for p in params})
    if numbers != list(range(1, len(numbers) + 1)):
        return f"the {where}'s parameters are not sequential from {{{{1}}}}"
    return None


def _example_problem(
    where: str, params: list[str], named: bool, example: dict[str, Any]
) -> str | None:
    if not params:
        return None
    missing = f"the {where} has parameters but no example values"
    if named:
        given = example.get(f"{where}_text_named_params")
        if not isinstance(given, list):
            return missing
        names = {
            e.get("param_name")
            for e in given
            if isinstance(e, dict) and isinstance(e.get("example"), str) and e["example"]
        }
        return None if set(params) <= names else missing
    wanted = len(set(params))
    given = example.get(f"{where}_text")
    if where == "body":  # body_text is one list of values per example: [["Budi", "42"]]
        given = given[0] if isinstance(given, list) and given else None
    if not isinstance(given, list) or len(given) != wanted:
        return missing
    return None if all(isinstance(v, str) and v for v in given) else missing


def _buttons_problem(buttons: list[dict[str, Any]]) -> str | None:
    if len(buttons) > BUTTONS_MAX:
        return f"more than {BUTTONS_MAX} buttons"
    for button in buttons:
        if len(button["text"]) > BUTTON_TEXT_MAX:
            return f"a button's text has more than {BUTTON_TEXT_MAX} characters"
        if placeholders(button["text"]):
            return "a button's text has no parameters"
        kind = button["type"]
        if kind == "URL":
            url = button["url"]
            params = placeholders(url)
            if len(url) > URL_MAX or not url.startswith(("https://", "http://")):
                return "a URL button's url is an http(s) URL of at most 2000 characters"
            if params and (params != ["1"] or not url.endswith("}}")):
                return "a URL button has at most one parameter, {{1}}, at its end"
            if params and not _one_string_list(button.get("example")):
                return "a URL button with a parameter needs an example"
        elif kind == "PHONE_NUMBER" and not 0 < len(button["phone_number"]) <= PHONE_MAX:
            return f"a PHONE_NUMBER button's number has at most {PHONE_MAX} characters"
        elif kind == "COPY_CODE":
            code: Any = button.get("example")
            code = code[0] if _one_string_list(code) else code
            if not isinstance(code, str) or not 0 < len(code) <= CODE_MAX:
                return f"a COPY_CODE button needs an example code of at most {CODE_MAX} characters"
    return None


def _put_in(text: str, value: str) -> str:
    """`text` with its parameter replaced by `value`, verbatim (no backslash escapes)."""
    return _PLACEHOLDER.sub(lambda _m: value, text)


def _one_string_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)


def parameter_format_of(components: list[dict[str, Any]]) -> str:
    """NAMED if a stored template's parameters are named, else POSITIONAL (never mixed)."""
    for component in components:
        if component["type"] in ("HEADER", "BODY") and isinstance(component.get("text"), str):
            for param in placeholders(component["text"]):
                if _NAMED.match(param):
                    return "NAMED"
    return "POSITIONAL"


# -- rendering for a send -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TemplateRecord:
    """What rendering needs of a stored template."""

    id: str
    name: str
    language: str
    category: str
    components: list[dict[str, Any]]


def render(template: TemplateRecord, send_components: Any) -> RenderedTemplate:
    """The template filled in with a send's `components` (COMPAT.md §1), or GraphError:
    132000 when the parameters do not match, 131009 for what is not a parameter."""
    sent = _sent_components(send_components)
    named = parameter_format_of(template.components) == "NAMED"
    parts = {c["type"]: c for c in template.components}
    template_buttons = parts["BUTTONS"]["buttons"] if "BUTTONS" in parts else []
    _check_button_components(template_buttons, sent.get("buttons", {}))
    header: str | None = None
    header_media: dict[str, Any] | None = None
    head = parts.get("HEADER")
    given = sent.pop("header", [])
    if head is None:
        _expect(not given)
    elif head["format"] == "TEXT":
        header = _fill(head["text"], given, named)
    else:
        header_media = _media(head["format"], given)
    body = _fill(parts["BODY"]["text"], sent.pop("body", []), named)
    footer = parts["FOOTER"]["text"] if "FOOTER" in parts else None
    buttons = _buttons(template_buttons, sent.pop("buttons", {}))
    return RenderedTemplate(
        template.id,
        template.name,
        template.language,
        template.category,
        header,
        header_media,
        body,
        footer,
        buttons,
    )


def _expect(condition: bool) -> None:
    if not condition:
        raise GraphError(132000, _PARAMETER_MISMATCH)


def _sent_components(raw: Any) -> dict[str, Any]:
    """{"header": [params], "body": [params], "buttons": {index: (sub_type, [params])}}."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise parameter_value("template.components is a list")
    out: dict[str, Any] = {"buttons": {}}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise parameter_value("each template component is an object with a type")
        kind = item["type"].lower()
        params = item.get("parameters", [])
        if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
            raise parameter_value(f"the {kind} component's parameters are a list of objects")
        for param in params:
            if param.get("type") not in PARAMETER_TYPES:
                raise parameter_value(f"parameter type {param.get('type')!r} is not known")
        if kind in ("header", "body"):
            if kind in out:
                raise parameter_value(f"only one {kind} component")
            out[kind] = params
        elif kind == "button":
            index = item.get("index")
            try:
                number = int(index)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise parameter_value("a button component has its index") from None
            sub_type = item.get("sub_type")
            if not isinstance(sub_type, str):
                raise parameter_value("a button component has its sub_type")
            if number in out["buttons"]:
                raise parameter_value(f"only one component for button {number}")
            out["buttons"][number] = (sub_type.lower(), params)
        else:
            raise parameter_value(f"template component type {item['type']!r} is not known")
    return out


def _value(param: dict[str, Any]) -> str:
    """The text a text, currency, date_time or payload parameter puts in."""
    kind = param.get("type")
    if kind == "text":
        value = param.get("text")
    elif kind in ("currency", "date_time"):
        inner = param.get(kind)
        value = inner.get("fallback_value") if isinstance(inner, dict) else None
    elif kind in ("payload", "coupon_code"):
        value = param.get(kind)
    else:  # a media parameter where text belongs
        raise GraphError(132000, _PARAMETER_MISMATCH, details=f"a {kind} is not text")
    if not isinstance(value, str) or not value:
        raise missing_parameter(f"the {kind} parameter has no value")
    return value


def _fill(text: str, params: list[dict[str, Any]], named: bool) -> str:
    wanted = placeholders(text)
    if named:
        by_name: dict[str, str] = {}
        for param in params:
            name = param.get("parameter_name")
            if not isinstance(name, str) or name not in wanted or name in by_name:
                raise GraphError(132000, _PARAMETER_MISMATCH)
            by_name[name] = _value(param)
        _expect(set(by_name) == set(wanted))
        return _PLACEHOLDER.sub(lambda m: by_name[m.group(1).strip()], text)
    _expect(len(params) == len(set(wanted)))
    values = [_value(p) for p in params]
    return _PLACEHOLDER.sub(lambda m: values[int(m.group(1).strip()) - 1], text)


def _media(fmt: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    kind = fmt.lower()
    _expect(len(params) == 1)
    param = params[0]
    if param.get("type") != kind:
        raise GraphError(132012, "Parameter format does not match format in the created template")
    inner = param.get(kind)
    if kind == "location":
        if not isinstance(inner, dict) or not {"latitude", "longitude"} <= set(inner):
            raise missing_parameter("a location header needs latitude and longitude")
        return {"type": "location", "location": inner}
    if not isinstance(inner, dict):
        raise missing_parameter(f"the {kind} parameter needs a link or an id")
    source = {k: inner[k] for k in ("link", "id") if isinstance(inner.get(k), str) and inner[k]}
    if len(source) != 1:
        raise parameter_value(f"the {kind} parameter has a link or an id")
    extra = {k: inner[k] for k in ("filename",) if isinstance(inner.get(k), str)}
    return {"type": kind, **source, **extra}


SentButtons = dict[int, tuple[str, list[dict[str, Any]]]]


def _check_button_components(template_buttons: list[dict[str, Any]], sent: SentButtons) -> None:
    for index, (sub_type, _) in sent.items():
        if not 0 <= index < len(template_buttons):
            raise parameter_value(f"the template has no button {index}")
        if template_buttons[index]["type"].lower() != sub_type:
            raise parameter_value(f"button {index} is not a {sub_type} button")


def _buttons(template_buttons: list[dict[str, Any]], sent: SentButtons) -> list[dict[str, Any]]:
    out = []
    for index, button in enumerate(template_buttons):
        kind = button["type"]
        params = sent.get(index, ("", []))[1]
        if kind == "QUICK_REPLY":
            _expect(len(params) <= 1)
            payload = _value(params[0]) if params else button["text"]
            out.append({"type": "quick_reply", "text": button["text"], "payload": payload})
        elif kind == "URL":
            dynamic = bool(placeholders(button["url"]))
            _expect(len(params) == int(dynamic))
            url = button["url"]
            if dynamic:
                url = _put_in(url, _value(params[0]))
            out.append({"type": "url", "text": button["text"], "url": url})
        elif kind == "PHONE_NUMBER":
            _expect(not params)
            out.append(
                {
                    "type": "phone_number",
                    "text": button["text"],
                    "phone_number": button["phone_number"],
                }
            )
        else:  # COPY_CODE: the code comes with each send
            _expect(len(params) == 1)
            out.append({"type": "copy_code", "text": button["text"], "code": _value(params[0])})
    return out
