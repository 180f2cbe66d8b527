"""Training steps of several frameworks timed side by side: each stepper
runs two warm-up steps, then `rounds` rounds of `steps` steps, the steppers
alternating within each round so that none gets the machine's quieter
moments; each reports its best and median round (seconds per step)."""
from __future__ import annotations

import time
from typing import Callable, Dict, List

import numpy as np

Stepper = Callable[[], float]


def time_rounds(steppers: Dict[str, Stepper], steps: int, rounds: int) -> Dict[str, List[float]]:
    """Seconds per step of every round, per stepper."""
    for step in steppers.values():
        step(), step()
    times: Dict[str, List[float]] = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            start = time.perf_counter()
            for _ in range(steps):
                step()
            times[name].append((time.perf_counter() - start) / steps)
    return times


def report(times: Dict[str, List[float]], tokens_per_step: int, peer: str = "pytorch eager") -> None:
    """A line per stepper (best and median ms/step, tokens/s) and trainkit's speed against `peer`."""
    best = {name: min(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"  {name:14s} best {best[name] * 1000:7.1f} ms/step  median {np.median(t) * 1000:7.1f} ms  "
              f"{tokens_per_step / best[name]:8.0f} tokens/s")
    print(f"  trainkit / {peer}: {best[peer] / best['trainkit']:.2f}x")
