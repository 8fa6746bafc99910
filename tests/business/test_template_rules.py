"""Message templates' pure rules: what a submission must look like, automatic rejection
with Meta's reason, and filling a template in with a send's parameters."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obrolan.business.graph import GraphError
from obrolan.business.template_rules import (
    BODY_MAX,
    INVALID_FORMAT,
    LANGUAGES,
    RenderedTemplate,
    TemplateRecord,
    check_submission,
    parameter_format_of,
    render,
)


def body(text: str, *examples: str, **named: str) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "BODY", "text": text}
    if examples:
        component["example"] = {"body_text": [list(examples)]}
    if named:
        component["example"] = {
            "body_text_named_params": [{"param_name": k, "example": v} for k, v in named.items()]
        }
    return component


def submission(*components: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": list(components) or [body("Your order is ready.")],
        **extra,
    }


def reason(sub: dict[str, Any]) -> str | None:
    return check_submission(sub).rejected_reason


def refused(sub: dict[str, Any]) -> int:
    with pytest.raises(GraphError) as caught:
        check_submission(sub)
    return caught.value.code


# -- submission: well-formed --------------------------------------------------------------
def test_a_plain_template_passes_and_is_normalised() -> None:
    checked = check_submission(
        submission(
            {"type": "header", "format": "text", "text": "Order"},
            body("Hi {{1}}, order {{2}} is on its way.", "Budi", "A-42"),
            {"type": "footer", "text": "Toko Sari"},
            {"type": "buttons", "buttons": [{"type": "quick_reply", "text": "Thanks"}]},
        )
    )
    assert checked.rejected_reason is None
    sub = checked.submission
    assert [c["type"] for c in sub.components] == ["HEADER", "BODY", "FOOTER", "BUTTONS"]
    assert sub.components[0]["format"] == "TEXT"
    assert sub.components[3]["buttons"][0]["type"] == "QUICK_REPLY"
    assert sub.parameter_format == "POSITIONAL" and sub.category == "UTILITY"


@pytest.mark.parametrize("language", ["en", "en_US", "id", "pt_BR", "zh_CN", "fil"])
def test_meta_languages_are_accepted(language: str) -> None:
    assert language in LANGUAGES
    assert reason(submission(language=language)) is None


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Order_Update"},
        {"name": "order-update"},
        {"name": "x" * 513},
        {"name": ""},
        {"language": "xx_YY"},
        {"category": "SALES"},
        {"parameter_format": "MIXED"},
        {"components": "BODY"},
        {"components": []},
        {"components": [{"type": "CAROUSEL", "text": "x"}]},
        {"components": [{"type": "HEADER", "format": "TEXT", "text": "x"}]},  # no BODY
        {"components": [body("a"), body("b")]},
        {"components": [{"type": "HEADER", "format": "GIF"}, body("a")]},
        {"components": [{"type": "HEADER", "format": "IMAGE"}, body("a")]},  # no sample
        {
            "components": [
                {"type": "HEADER", "format": "VIDEO", "example": {"header_handle": []}},
                body("a"),
            ]
        },
        {"components": [body("a"), {"type": "BUTTONS", "buttons": [{"type": "CALL"}]}]},
        {"components": [body("a"), {"type": "BUTTONS", "buttons": "x"}]},
        {
            "components": [
                body("a"),
                {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go"}]},
            ]
        },
        {"components": [{"type": "BODY", "text": 5}]},
        {"components": ["BODY"]},
    ],
)
def test_malformed_submissions_are_graph_errors(change: dict[str, Any]) -> None:
    assert refused(submission() | change) in (100, 131008)


def test_a_missing_name_is_131008() -> None:
    sub = submission()
    del sub["name"]
    assert refused(sub) == 131008


# -- automatic rejection --------------------------------------------------------------------
@pytest.mark.parametrize(
    "components",
    [
        [body("{{1}}, your order is ready.", "Budi")],  # starts with a parameter
        [body("Your order is ready, {{1}}", "Budi")],  # ends with a parameter
        [body("Hi {{1}} and {{3}} are here now.", "a", "b")],  # not sequential
        [body("Hi {{2}} your order is ready.", "a")],  # does not start at 1
        [body("Hi {{1}}, your order is ready.")],  # no example
        [body("Hi {{1}} and {{2}}, your order is here.", "only one")],  # example too short
        [body("Hi {{1}} {{2}} {{3}} ok.", "a", "b", "c")],  # too many for its length
        [body("Hi {{1}} and {{first_name}} here today.", "a")],  # mixed
        [body("x" * (BODY_MAX + 1))],
        [{"type": "HEADER", "format": "TEXT", "text": "x" * 61}, body("Ready.")],
        [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "{{1}} {{2}}",
                "example": {"header_text": ["a", "b"]},
            },
            body("Ready."),
        ],
        [{"type": "HEADER", "format": "TEXT", "text": "Hi {{1}}"}, body("Ready.")],
        [body("Ready."), {"type": "FOOTER", "text": "x" * 61}],
        [body("Ready."), {"type": "FOOTER", "text": "Bye {{1}}"}],
        [
            body("Ready."),
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x"}] * 11},
        ],
        [
            body("Ready."),
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]},
        ],
        [
            body("Ready."),
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "URL", "text": "Track", "url": "https://t.example/{{1}}"}
                ],  # no example
            },
        ],
        [
            body("Ready."),
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Track",
                        "url": "https://t.example/{{1}}/x",
                        "example": ["https://t.example/1/x"],
                    }
                ],
            },
        ],
        [body("Ready."), {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "text": "Copy"}]}],
    ],
)
def test_breaking_a_content_rule_is_rejected_as_invalid_format(
    components: list[dict[str, Any]],
) -> None:
    checked = check_submission(submission(*components))
    assert checked.rejected_reason == INVALID_FORMAT and checked.detail


def test_named_parameters_need_named_format_and_their_examples() -> None:
    text = "Hi {{first_name}}, order {{order}} is ready."
    good = submission(body(text, first_name="Budi", order="A-42"), parameter_format="NAMED")
    assert reason(good) is None
    assert check_submission(good).submission.parameter_format == "NAMED"
    # Named parameters in a POSITIONAL template, positional ones in a NAMED template.
    assert reason(submission(body(text, first_name="Budi", order="A"))) == INVALID_FORMAT
    positional = body("Hi {{1}}, your order is ready.", "Budi")
    assert reason(submission(positional, parameter_format="NAMED")) == INVALID_FORMAT
    # An example missing for one name.
    assert (
        reason(submission(body(text, first_name="Budi"), parameter_format="NAMED"))
        == INVALID_FORMAT
    )


def test_repeated_positional_parameters_are_one_parameter() -> None:
    assert reason(submission(body("Hi {{1}}, yes {{1}}, your order is ready.", "Budi"))) is None


@given(st.integers(min_value=1, max_value=8))
def test_sequential_parameters_with_examples_pass(n: int) -> None:
    text = "Dear customer " + " and then ".join(f"{{{{{i}}}}}" for i in range(1, n + 1)) + " ok."
    assert reason(submission(body(text, *[f"v{i}" for i in range(n)]))) is None


@given(st.sets(st.integers(min_value=1, max_value=9), min_size=1, max_size=5))
def test_parameters_with_a_gap_are_rejected(numbers: set[int]) -> None:
    text = "Dear customer " + " and then ".join(f"{{{{{i}}}}}" for i in sorted(numbers)) + " ok."
    examples = [f"v{i}" for i in numbers]
    sequential = sorted(numbers) == list(range(1, len(numbers) + 1))
    assert (reason(submission(body(text, *examples))) is None) is sequential


# -- rendering ------------------------------------------------------------------------------
def record(*components: dict[str, Any]) -> TemplateRecord:
    sub = check_submission(submission(*components)).submission
    return TemplateRecord("T1", sub.name, sub.language, sub.category, sub.components)


def text(value: str, name: str | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"type": "text", "text": value}
    if name:
        param["parameter_name"] = name
    return param


def mismatch(template: TemplateRecord, sent: Any) -> int:
    with pytest.raises(GraphError) as caught:
        render(template, sent)
    return caught.value.code


FULL = record(
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["7"]}},
    body("Hi {{1}}, {{2}} is due on {{3}} today.", "Budi", "Rp 10.000", "1 Dec"),
    {"type": "FOOTER", "text": "Toko Sari"},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Thanks"},
            {
                "type": "URL",
                "text": "Track",
                "url": "https://t.example/{{1}}",
                "example": ["https://t.example/1"],
            },
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+6281100001111"},
            {"type": "COPY_CODE", "text": "Copy", "example": "SAVE10"},
        ],
    },
)


def test_positional_parameters_of_every_kind_are_filled_in() -> None:
    rendered = render(
        FULL,
        [
            {"type": "header", "parameters": [text("7")]},
            {
                "type": "body",
                "parameters": [
                    text("Budi"),
                    {
                        "type": "currency",
                        "currency": {
                            "fallback_value": "Rp 10.000",
                            "code": "IDR",
                            "amount_1000": 10000000,
                        },
                    },
                    {"type": "date_time", "date_time": {"fallback_value": "1 Desember"}},
                ],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "THX"}],
            },
            {"type": "button", "sub_type": "url", "index": 1, "parameters": [text("A-42")]},
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": "3",
                "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}],
            },
        ],
    )
    assert rendered == RenderedTemplate(
        "T1",
        "order_update",
        "en_US",
        "UTILITY",
        "Order 7",
        None,
        "Hi Budi, Rp 10.000 is due on 1 Desember today.",
        "Toko Sari",
        [
            {"type": "quick_reply", "text": "Thanks", "payload": "THX"},
            {"type": "url", "text": "Track", "url": "https://t.example/A-42"},
            {"type": "phone_number", "text": "Call", "phone_number": "+6281100001111"},
            {"type": "copy_code", "text": "Copy", "code": "SAVE10"},
        ],
    )
    assert rendered.text == "Order 7\n\nHi Budi, Rp 10.000 is due on 1 Desember today.\n\nToko Sari"


def test_named_parameters_are_filled_in_by_name() -> None:
    sub = check_submission(
        submission(
            body("Hi {{first_name}}, order {{order}} is ready.", first_name="B", order="1"),
            parameter_format="NAMED",
        )
    ).submission
    template = TemplateRecord("T2", sub.name, sub.language, sub.category, sub.components)
    assert parameter_format_of(template.components) == "NAMED"
    sent = [{"type": "body", "parameters": [text("A-42", "order"), text("Budi", "first_name")]}]
    rendered = render(template, sent)
    assert rendered.body == "Hi Budi, order A-42 is ready." and rendered.text == rendered.body
    assert rendered.header is None and rendered.footer is None and rendered.buttons == []
    # A missing name, an unknown name, a name twice.
    for params in (
        [text("Budi", "first_name")],
        [text("Budi", "first_name"), text("x", "nope")],
        [text("Budi", "first_name"), text("x", "first_name")],
        [text("Budi"), text("A-42")],
    ):
        assert mismatch(template, [{"type": "body", "parameters": params}]) == 132000


def test_media_headers_take_a_link_or_an_id() -> None:
    image = {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1n"]}}
    template = record(image, body("Your receipt is attached."))
    by_link = render(
        template,
        [
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": "https://x/r.jpg"}}],
            }
        ],
    )
    assert by_link.header_media == {"type": "image", "link": "https://x/r.jpg"}
    assert by_link.header is None and by_link.text == "Your receipt is attached."
    by_id = render(
        template, [{"type": "header", "parameters": [{"type": "image", "image": {"id": "M1"}}]}]
    )
    assert by_id.header_media == {"type": "image", "id": "M1"}
    assert mismatch(template, []) == 132000  # the image is missing
    video = [{"type": "header", "parameters": [{"type": "video", "video": {"id": "M1"}}]}]
    assert mismatch(template, video) == 132012
    both = [
        {"type": "header", "parameters": [{"type": "image", "image": {"id": "M", "link": "l"}}]}
    ]
    assert mismatch(template, both) == 131009


@pytest.mark.parametrize(
    "sent",
    [
        None,
        [],
        [{"type": "body", "parameters": [text("Budi")]}],
        [{"type": "body", "parameters": [text("a"), text("b"), text("c"), text("d")]}],
        [{"type": "header", "parameters": [text("7"), text("8")]}],
    ],
)
def test_a_wrong_number_of_parameters_is_132000(sent: Any) -> None:
    assert mismatch(FULL, sent) == 132000


@pytest.mark.parametrize(
    "sent",
    [
        "body",
        [{"type": "carousel", "parameters": []}],
        [{"type": "body", "parameters": [{"type": "sticker", "sticker": {}}] * 3}],
        [{"type": "button", "sub_type": "url", "index": "7", "parameters": []}],
        [{"type": "button", "sub_type": "url", "index": "0", "parameters": []}],
        [{"type": "button", "sub_type": "url", "parameters": []}],
    ],
)
def test_what_is_not_a_parameter_is_131009(sent: Any) -> None:
    assert mismatch(FULL, sent) == 131009


def test_a_template_without_parameters_needs_none() -> None:
    template = record(body("Your order is ready."))
    assert render(template, None).text == "Your order is ready."
    assert render(template, []).body == "Your order is ready."
    assert mismatch(template, [{"type": "body", "parameters": [text("x")]}]) == 132000
    assert mismatch(template, [{"type": "header", "parameters": [text("x")]}]) == 132000


def test_a_quick_reply_without_payload_answers_with_its_text() -> None:
    template = record(
        body("Your order is ready."),
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]},
    )
    assert render(template, []).buttons == [
        {"type": "quick_reply", "text": "Thanks", "payload": "Thanks"}
    ]


@given(st.lists(st.text(alphabet="abc {}\\1$", min_size=1, max_size=8), min_size=1, max_size=5))
def test_values_are_put_in_verbatim(values: list[str]) -> None:
    text_ = (
        "Dear customer "
        + " and then ".join(f"{{{{{i}}}}}" for i in range(1, len(values) + 1))
        + " ok."
    )
    template = record(body(text_, *["x"] * len(values)))
    rendered = render(template, [{"type": "body", "parameters": [text(v) for v in values]}])
    assert rendered.body == "Dear customer " + " and then ".join(values) + " ok."
