"""The sweep-under-load bench: which rate it runs at, and how it reports."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest
from bench.loadgen import StepTiming
from bench.sweep_load import SweepLoadConfig, SweepLoadResult, choose_rate, half_s1_rate, report

from tests.bench.test_sweep import step

CONFIG = SweepLoadConfig(rows=100_000, rate=None, users=200, timing=StepTiming(10, 2, 5))


def test_the_rate_is_half_the_s1_rate_of_the_same_bench_run(tmp_path: Path) -> None:
    latest = tmp_path / "latest.json"
    latest.write_bytes(orjson.dumps({"obrolan": {"S1": {"best": {"offered_rate": 1600.0}}}}))
    assert choose_rate(CONFIG, latest) == (800.0, "half the S1 rate in latest.json")
    assert choose_rate(dataclasses.replace(CONFIG, rate=50.0), latest) == (
        50.0,
        "BENCH_SWEEP_RATE",
    )
    assert half_s1_rate({"obrolan": {"S1": {"best": None}}}) is None
    with pytest.raises(SystemExit, match="BENCH_SWEEP_RATE"):
        choose_rate(CONFIG, tmp_path / "absent.json")


def test_the_report_puts_both_p99_side_by_side_and_says_whether_the_target_held() -> None:
    held = SweepLoadResult(
        800.0,
        "BENCH_SWEEP_RATE",
        100_000,
        without=step(800, ack_p99_ms=12.0),
        with_sweep=step(800, ack_p99_ms=30.0),
        swept_rows=100_000,
        sweep_seconds=4.0,
    )
    lines = report(held)
    assert "ack_p99_ms=12.00 ack_p99_sweep_ms=30.00" in lines[-1]
    assert lines[-1].endswith("ok=true")
    slow = dataclasses.replace(held, with_sweep=step(800, ack_p99_ms=150.0))
    assert report(slow)[-1].endswith("ok=false")
    unfinished = dataclasses.replace(held, swept_rows=99_500)
    assert not unfinished.ok
