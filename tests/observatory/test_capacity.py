"""The collector's capacity: a bound on submissions in flight and a token bucket, on a
virtual clock (the test moves time; nothing sleeps)."""

from __future__ import annotations

from netvigil.observatory.collector import Capacity


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_holds_rate_tokens_and_refills_at_rate_a_second() -> None:
    clock = Clock()
    gate = Capacity(limit=100, rate=5.0, clock=clock)
    assert [gate.try_acquire() for _ in range(6)] == [True] * 5 + [False]
    clock.now += 0.25  # a quarter of a second: one token and a quarter
    assert [gate.try_acquire() for _ in range(2)] == [True, False]
    clock.now += 60.0  # idle for a minute: never more than `rate` tokens saved up
    assert [gate.try_acquire() for _ in range(6)] == [True] * 5 + [False]
    assert gate.in_flight == 11


def test_at_most_limit_in_flight_whatever_the_tokens() -> None:
    clock = Clock()
    gate = Capacity(limit=2, rate=1000.0, clock=clock)
    assert [gate.try_acquire() for _ in range(3)] == [True, True, False]
    gate.release()
    assert [gate.try_acquire() for _ in range(2)] == [True, False]
    assert gate.in_flight == 2
