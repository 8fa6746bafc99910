"""Every route of the REST API, fuzzed from its own OpenAPI description (principle 7).

schemathesis reads `/openapi.json` from the real server and generates requests for every
operation: ones that fit the description (positive), ones that break it (negative), and
fitting ones aimed at a real room, message and person, so they get past "not found" into
the services. Every answer must be below 500, and every 4xx must be an RFC 9457 problem
with `type`, `title`, `status` and `detail`. Generation is derandomised: a run is the same
on every machine, and a failure reproduces with the curl command it prints.

Both backends run, since they differ: PostgreSQL refuses NUL characters that SQLite
stores, which is the first bug this test found. About 35 s each on a 2-core machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.strategies import SearchStrategy

from tests.support.factories import make_room, make_user
from tests.support.server import RunningServer

# Per operation and pass: 40 operations x up to 3 passes x 25 is about 2,300 requests.
EXAMPLES_PER_OPERATION = 25
# Signing out (here or everywhere) would end the fuzzer's own session and leave every later
# request a 401.
# Asking for erasure closes the fuzzer's own account the same way (its bad input is tested
# in tests/privacy/test_requests.py).
EXCLUDED_OPERATIONS = {
    "DELETE /api/v1/sessions/current",
    "DELETE /api/v1/sessions",
    "POST /api/v1/privacy/requests",
}
PROBLEM_FIELDS = ("type", "title", "status", "detail")
PROBLEM_JSON = "application/problem+json"


@dataclass
class Findings:
    """What broke, one example per operation and kind of failure, for a readable report."""

    requests: int = 0
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, kind: str, case: schemathesis.Case, response: schemathesis.Response) -> None:
        key = (case.operation.label, kind)
        if key not in self.examples:
            answer = f"{response.status_code} {response.text[:300]}"
            self.examples[key] = f"{case.as_curl_command()}\n    -> {answer}"

    def report(self) -> str:
        return "\n".join(
            f"{label}: {kind}\n    {example}" for (label, kind), example in self.examples.items()
        )


def _check(findings: Findings, case: schemathesis.Case, response: schemathesis.Response) -> None:
    findings.requests += 1
    if response.status_code >= 500:
        findings.add(f"server error {response.status_code}", case, response)
    elif response.status_code >= 400:
        media_type = response.headers.get("content-type", [""])[0].split(";")[0]
        if media_type != PROBLEM_JSON:
            findings.add(f"{response.status_code} as {media_type!r}", case, response)
            return
        problem = response.json()
        missing = [name for name in PROBLEM_FIELDS if name not in problem]
        if missing or problem["status"] != response.status_code:
            findings.add(f"problem without {missing or 'its status'}", case, response)


def _strategies(
    operation: schemathesis.APIOperation, known_ids: Mapping[str, str]
) -> list[SearchStrategy[schemathesis.Case]]:
    positive, negative = schemathesis.GenerationMode
    strategies = [operation.as_strategy(generation_mode=positive)]
    # An operation without parameters or body has nothing to break.
    if any(operation.iter_parameters()) or operation.body:
        strategies.append(operation.as_strategy(generation_mode=negative))
    names = {parameter.name for parameter in operation.path_parameters}
    if names and names <= known_ids.keys():
        real = {name: known_ids[name] for name in names}
        strategies.append(operation.as_strategy(generation_mode=positive, path_parameters=real))
    return strategies


def _fuzz(
    schema: schemathesis.BaseSchema, base_url: str, token: str, known_ids: Mapping[str, str]
) -> Findings:
    """Runs in a worker thread: schemathesis sends with blocking `requests`."""
    findings = Findings()
    settings = hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # findings are collected, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.label in EXCLUDED_OPERATIONS:
                continue
            for strategy in _strategies(operation, known_ids):

                @settings
                @given(case=strategy)
                def send(case: schemathesis.Case) -> None:
                    response = case.call(base_url=base_url, session=session, timeout=10)
                    _check(findings, case, response)

                send()
    return findings


# Its time grows with the number of routes (about 1.5 s each on a busy 2-core machine).
@pytest.mark.timeout(600)
async def test_every_route_answers_bad_input_with_a_problem_never_a_server_error(
    server: RunningServer,
) -> None:
    fuzzer, other = await make_user(server), await make_user(server)
    room = await make_room(fuzzer, members=[other])
    message = await fuzzer.http.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "seed", "body": "halo"}
    )
    known_ids = {
        "room_id": room["id"],
        "message_id": message.json()["id"],
        "user_id": other.id,
        "emoji": "👍",
    }
    async with server.http() as http:
        description = (await http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(description)

    findings = await asyncio.to_thread(_fuzz, schema, server.base_url, fuzzer.token, known_ids)

    assert findings.requests > 1500
    assert not findings.examples, findings.report()
    # The fuzzer's session survived the run, so the routes behind it were really reached.
    assert (await fuzzer.http.get("/api/v1/me")).status_code == 200
