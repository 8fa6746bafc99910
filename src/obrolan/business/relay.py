"""The relay (item 3): a send to a number nobody here has verified goes on to an upstream
Cloud API (Meta's, or another gateway's) when the sender number is configured for it.

obrolan passes the business's body through unchanged and answers with the upstream's
answer, ids and errors included: the message is the upstream's from then on, and its
statuses reach the business from the upstream's own webhooks. Each relayed send is
recorded in the audit log (R9: the person's number left this server, as the feature
needs), without the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from obrolan.business.graph import GraphError

# An upstream that does not answer within this long fails the send (code 131000).
RELAY_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class RelayAnswer:
    status: int
    body: dict[str, Any]


async def relay_send(base_url: str, token: str, body: dict[str, Any]) -> RelayAnswer:
    """POST the send to `{base_url}/messages`; the upstream's status and JSON answer.

    `base_url` names the upstream number, as the Cloud API's own URLs do:
    `https://graph.facebook.com/v21.0/<upstream phone_number_id>`.
    """
    try:
        async with httpx.AsyncClient(timeout=RELAY_TIMEOUT_SECONDS, follow_redirects=False) as http:
            response = await http.post(
                f"{base_url}/messages",
                content=orjson.dumps(body),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise GraphError(
            131000,
            "Something went wrong",
            status=502,
            details=f"the upstream Cloud API did not answer: {type(exc).__name__}",
        ) from exc
    if not isinstance(answer, dict):
        raise GraphError(131000, "Something went wrong", status=502, details="upstream answer")
    return RelayAnswer(response.status_code, answer)
