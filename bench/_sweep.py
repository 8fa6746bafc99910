"""The rate sweep: what one step at an offered rate measured, when it passes, which rate next.

Pure logic, no sockets: bench/loadgen.py measures the steps, this module chooses their
rates and judges them.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

# The latency target docs/performance.md states, for acks and for deliveries alike.
MAX_P99_MS = 100.0


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step: messages scheduled inside its window, and what became of them.

    Latencies run from each message's *scheduled* send time, so a generator that fell
    behind its schedule shows up in them; `lag_*` says by how much it fell behind.
    """

    offered_rate: float
    seconds: float
    # Messages scheduled (and sent) in the window, their acks and their deliveries.
    messages: int
    acked: int
    deliveries: int
    deliveries_expected: int
    msgs_per_s: float
    deliveries_per_s: float
    ack_p50_ms: float
    ack_p95_ms: float
    ack_p99_ms: float
    delivery_p50_ms: float
    delivery_p95_ms: float
    delivery_p99_ms: float
    max_ms: float
    # How late the generator sent, against its own schedule.
    lag_p99_ms: float
    lag_max_ms: float
    errors: int
    dropped_sockets: int
    # CPU use in the window as a share of one core: the server's, the generator's, and
    # what everything else on the machine took.
    server_cpu_pct: float
    client_cpu_pct: float
    other_cpu_pct: float
    # What the server's own metrics say happened in the window (obrolan only).
    server_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        return max(self.ack_p50_ms, self.delivery_p50_ms)

    @property
    def p95_ms(self) -> float:
        return max(self.ack_p95_ms, self.delivery_p95_ms)

    @property
    def p99_ms(self) -> float:
        return max(self.ack_p99_ms, self.delivery_p99_ms)


def failure(step: StepResult, max_p99_ms: float = MAX_P99_MS) -> str:
    """Why the step failed, or "" when it passed.

    A step passes when every message scheduled in its window was acknowledged, every
    delivery of them arrived before the drain timeout, nothing was refused or dropped,
    and the p99 of acks and of deliveries are both under `max_p99_ms`.
    """
    if step.messages == 0:
        return "nothing sent"
    if step.errors or step.dropped_sockets:
        return f"{step.errors} errors, {step.dropped_sockets} sockets dropped"
    if step.acked < step.messages:
        return f"{step.messages - step.acked} of {step.messages} messages not acknowledged"
    if step.deliveries < step.deliveries_expected:
        missing = step.deliveries_expected - step.deliveries
        return f"{missing} of {step.deliveries_expected} deliveries missing"
    # NaN (no samples) fails too: `not (nan < x)`.
    if not step.ack_p99_ms < max_p99_ms:
        return f"ack p99 {step.ack_p99_ms:.1f} ms"
    if step.deliveries_expected and not step.delivery_p99_ms < max_p99_ms:
        return f"delivery p99 {step.delivery_p99_ms:.1f} ms"
    return ""


def passed(step: StepResult, max_p99_ms: float = MAX_P99_MS) -> bool:
    return not failure(step, max_p99_ms)


@dataclass(frozen=True, slots=True)
class SweepSettings:
    start_rate: float
    max_rate: float
    factor: float
    bisections: int


def geometric_rates(settings: SweepSettings) -> list[float]:
    """start, start * factor, … up to max_rate, which is always the last."""
    rates, rate = [], min(settings.start_rate, settings.max_rate)
    while rate < settings.max_rate:
        rates.append(rate)
        rate *= settings.factor
    rates.append(settings.max_rate)
    return rates


async def sweep(
    measure: Callable[[float], Awaitable[StepResult]], settings: SweepSettings
) -> list[StepResult]:
    """Step the rate up geometrically until a step fails, then bisect.

    The bisection runs between the last passing rate (0 if none did) and the first
    failing one, `settings.bisections` times. Returns every step in the order run.
    """
    steps: list[StepResult] = []
    low, high = 0.0, math.nan
    for rate in geometric_rates(settings):
        step = await measure(rate)
        steps.append(step)
        if not passed(step):
            high = rate
            break
        low = rate
    if math.isnan(high):
        return steps
    for _ in range(settings.bisections):
        rate = round((low + high) / 2, 1)
        if rate in (low, high):
            break
        step = await measure(rate)
        steps.append(step)
        if passed(step):
            low = rate
        else:
            high = rate
    return steps


def best(steps: Sequence[StepResult]) -> StepResult | None:
    """The passing step with the highest offered rate, if any passed."""
    passing = [s for s in steps if passed(s)]
    return max(passing, key=lambda s: s.offered_rate) if passing else None


def first_failing(steps: Sequence[StepResult]) -> StepResult | None:
    """The failing step with the lowest offered rate above the best passing one."""
    top = best(steps)
    floor = top.offered_rate if top else -1.0
    failing = [s for s in steps if not passed(s) and s.offered_rate > floor]
    return min(failing, key=lambda s: s.offered_rate) if failing else None
