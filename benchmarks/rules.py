"""Scenario 2, rule scaling: 10, 100, 1,000 and 10,000 rules, as ratios to 10 rules.

Every rule is shaped like a team's real rule: a required service and environment, a
severity floor, a threshold and a ticket. The signals cycle through the services of the
rule set under test in runs of three, one second apart, against a threshold of 3 within
10 seconds: held, held, fired, whatever the size. So every size does the same work per
signal apart from finding the rule. Target: 1,000 indexed
rules at no less than 0.7x the 10-rule throughput.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from benchmarks._common import Scenario
from feedbackloop import Signal
from feedbackloop.rules import Drop, F, OpenTicket, Rule, RuleSet, Threshold

SIZES = (10, 100, 1000, 10_000)
TARGET = 0.7


def build_rules(size: int, *, index: bool = True) -> RuleSet:
    rules = [
        Rule(
            f"svc-{i}-errors",
            when=(F.service == f"svc-{i}")
            & (F.environment == "production")
            & (F.severity >= "high"),
            threshold=Threshold(count=3, within=timedelta(seconds=10)),
            then=OpenTicket("jira", project="OPS", labels=["ops-feedback"]),
        )
        for i in range(size)
    ]
    rules.append(Rule("noise", when=F.severity <= "low", then=Drop()))
    return RuleSet(*rules, index=index)


def build_signals(size: int, count: int) -> list[Signal]:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    return [
        Signal(
            source="sentry",
            title="Timeout in handler",
            service=f"svc-{(n // 3) % size}",
            environment="production",
            severity="low" if n % 10 == 9 else "high",
            occurred_at=start + timedelta(seconds=n),
        )
        for n in range(count)
    ]


def throughput(rules: RuleSet, signals: list[Signal], repeat: int) -> float:
    """Best-of-`repeat` signals per second (best, to shrug off scheduler noise)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for signal in signals:
            rules.evaluate(signal)
        best = min(best, time.perf_counter() - started)
    return len(signals) / best


def run(*, quick: bool = False) -> dict[str, float]:
    """Measure and return throughputs (signals/s) keyed by case name."""
    count, repeat = (2_000, 3) if quick else (20_000, 5)
    results: dict[str, float] = {}
    for size in SIZES:
        signals = build_signals(size, count)
        results[f"{size} rules"] = throughput(build_rules(size), signals, repeat)
    signals = build_signals(1000, count // 4)
    results["1000 rules, unindexed"] = throughput(build_rules(1000, index=False), signals, repeat)
    return results


def scenario(*, quick: bool = False) -> Scenario:
    """The throughputs as a scenario, with the 1,000-rule target checked."""
    results = run(quick=quick)
    baseline = results[f"{SIZES[0]} rules"]
    found = Scenario("rules", "RuleSet.evaluate throughput", f"{SIZES[0]} rules")
    for name, value in results.items():
        found.figure(name, value, "signals/s", value / baseline)
    found.checks[f"1000 indexed rules >= {TARGET}x of 10"] = (
        results["1000 rules"] / baseline >= TARGET
    )
    return found


if __name__ == "__main__":
    scenario().print()
