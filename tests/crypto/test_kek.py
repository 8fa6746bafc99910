"""The key-encryption key file: made once, even when several processes start together."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from obrolan.crypto.kek import load_or_create_kek

ROUNDS = 150


def _start_many_times(folder: str, barrier: Barrier, results: Any) -> None:
    """One process: in each round, start on a fresh data dir together with the other."""
    for round_number in range(ROUNDS):
        barrier.wait(timeout=30)
        try:
            key = load_or_create_kek("", Path(folder) / str(round_number) / "kek.key")
            results.put((round_number, key.hex()))
        except Exception as exc:
            results.put((round_number, f"error: {exc!r}"))


def test_r6_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=_start_many_times, args=(str(tmp_path), barrier, results))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    answers: dict[int, list[str]] = {}
    for _ in range(2 * ROUNDS):
        round_number, answer = results.get(timeout=60)
        answers.setdefault(round_number, []).append(answer)
    for process in processes:
        process.join(timeout=30)

    errors = [a for both in answers.values() for a in both if a.startswith("error")]
    assert errors == []
    for round_number, (first, second) in answers.items():
        on_disk = load_or_create_kek("", tmp_path / str(round_number) / "kek.key").hex()
        assert first == second == on_disk
        assert (tmp_path / str(round_number) / "kek.key").stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob("*/.kek-*")), "temporary files were left behind"
