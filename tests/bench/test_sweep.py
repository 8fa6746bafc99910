"""The bench's rate sweep: which rates it tries, and when a step passes."""

from __future__ import annotations

import dataclasses

from bench._sweep import (
    StepResult,
    SweepSettings,
    best,
    failure,
    first_failing,
    geometric_rates,
    sweep,
)


def step(rate: float, **changes: float) -> StepResult:
    """A step where everything arrived with a 10 ms p99, changed by `changes`."""
    clean = StepResult(
        offered_rate=rate,
        seconds=1.0,
        messages=100,
        acked=100,
        deliveries=100,
        deliveries_expected=100,
        msgs_per_s=100.0,
        deliveries_per_s=100.0,
        ack_p50_ms=1.0,
        ack_p95_ms=5.0,
        ack_p99_ms=10.0,
        delivery_p50_ms=1.0,
        delivery_p95_ms=5.0,
        delivery_p99_ms=10.0,
        max_ms=12.0,
        lag_p99_ms=1.0,
        lag_max_ms=2.0,
        errors=0,
        dropped_sockets=0,
        server_cpu_pct=50.0,
        client_cpu_pct=10.0,
        other_cpu_pct=0.0,
    )
    return dataclasses.replace(clean, **changes)


def test_a_clean_step_passes() -> None:
    assert failure(step(100)) == ""


def test_a_step_fails_on_anything_lost_refused_or_slow() -> None:
    assert "not acknowledged" in failure(step(100, acked=99))
    assert "deliveries missing" in failure(step(100, deliveries=99))
    assert "errors" in failure(step(100, errors=1))
    assert "dropped" in failure(step(100, dropped_sockets=1))
    assert "ack p99" in failure(step(100, ack_p99_ms=100.0))
    assert "delivery p99" in failure(step(100, delivery_p99_ms=150.0))
    assert failure(step(100, messages=0, acked=0)) == "nothing sent"
    assert failure(step(100, ack_p99_ms=float("nan"))) != ""


def test_geometric_rates_end_at_the_maximum() -> None:
    assert geometric_rates(SweepSettings(50, 400, 2, 0)) == [50, 100, 200, 400]
    assert geometric_rates(SweepSettings(50, 300, 2, 0)) == [50, 100, 200, 300]
    assert geometric_rates(SweepSettings(500, 300, 2, 0)) == [300]


async def test_sweep_bisects_between_the_last_pass_and_the_first_failure() -> None:
    tried: list[float] = []

    async def measure(rate: float) -> StepResult:
        tried.append(rate)
        return step(rate, ack_p99_ms=10.0 if rate <= 700 else 200.0)

    steps = await sweep(measure, SweepSettings(100, 10_000, 2, 3))

    assert tried == [100, 200, 400, 800, 600, 700, 750]
    top = best(steps)
    over = first_failing(steps)
    assert top is not None and top.offered_rate == 700
    assert over is not None and over.offered_rate == 750


async def test_sweep_stops_at_the_maximum_when_everything_passes() -> None:
    async def measure(rate: float) -> StepResult:
        return step(rate)

    steps = await sweep(measure, SweepSettings(100, 400, 2, 3))

    assert [s.offered_rate for s in steps] == [100, 200, 400]
    assert first_failing(steps) is None


async def test_sweep_bisects_below_the_start_when_the_first_step_fails() -> None:
    async def measure(rate: float) -> StepResult:
        return step(rate, deliveries=0 if rate > 30 else 100)

    steps = await sweep(measure, SweepSettings(100, 400, 2, 2))

    assert [s.offered_rate for s in steps] == [100, 50, 25]
    top = best(steps)
    assert top is not None and top.offered_rate == 25
