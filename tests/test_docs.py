"""The documents show what obrolan really answers."""

from __future__ import annotations

import re
from pathlib import Path

from obrolan.config import Settings
from obrolan.ids import new_id

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ID_FIELDS = ("id", "user_id", "room_id", "session_id", "sender_id", "message_id", "created_by")
# An id as obrolan.ids makes it: 26 characters of lower-case Crockford base32.
ID_SHAPE = re.compile(r"[0-9a-hjkmnp-tv-z]{26}")
# The Cloud API's ids (docs/business-api.md): a message's wamid, a person's business-scoped id.
CLOUD_SHAPE = re.compile(r"wamid\.[0-9a-hjkmnp-tv-z]{26}|ID\.[0-9a-f]{16}")
EXAMPLE = re.compile('"(' + "|".join(ID_FIELDS) + ')": "([^"]*)"')


def test_the_id_shape_is_what_ids_look_like() -> None:
    assert ID_SHAPE.fullmatch(new_id())


def _chosen_by_the_client(text: str, match: re.Match[str]) -> bool:
    """A request id: a placeholder such as "<your request id>", or the `id` of a frame
    the client sends, which is whatever the client chose."""
    line = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
    return match.group(2).startswith("<") or (
        match.group(1) == "id"
        and any(f'"type": "{t}"' in line for t in ("send", "ping", "presence"))
    )


def test_example_ids_in_the_documents_look_like_real_ones() -> None:
    wrong = []
    for document in DOCUMENTS:
        text = document.read_text()
        wrong += [
            f"{document.name}: {match.group(0)}"
            for match in EXAMPLE.finditer(text)
            if not _chosen_by_the_client(text, match)
            and not ID_SHAPE.fullmatch(match.group(2))
            and not CLOUD_SHAPE.fullmatch(match.group(2))
        ]
    assert wrong == []


def test_the_readme_tour_exports_what_its_websocket_example_reads() -> None:
    """The Python example runs as a child of the shell of the curl steps: it sees only
    the variables they export."""
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A quick tour") :]
    shell = tour[tour.index("```sh") : tour.index("```python")]
    python = tour[tour.index("```python") :]
    python = python[: python.index("```", 3)]

    read = set(re.findall(r'os\.environ\["(\w+)"\]', python))
    exported = set(re.findall(r"^export (\w+)=", shell, flags=re.MULTILINE))

    assert read == {"TOKEN", "ROOM"}
    assert read <= exported


def test_the_readme_settings_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| variable | default | meaning |") :]
    table = table[: table.index("\n\n")]
    named = set(re.findall(r"`(OBROLAN_[A-Z0-9_]+)`", table))
    assert {f"OBROLAN_{name.upper()}" for name in Settings.model_fields} <= named
