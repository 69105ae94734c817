"""The benchmarks' measuring helpers: pairs interleaved, references' warm-up left out."""

from __future__ import annotations

import pytest

from bench.common import interleaved
from bench.run import steady_consumer_rate, steady_producer_rate

PRODUCER = """63246 records sent, 12618.9 records/sec (4.26 MB/sec), 202.6 ms avg latency, 3098.0 ms max latency.
323977 records sent, 64743.6 records/sec (21.86 MB/sec), 94.1 ms avg latency, 377.0 ms max latency.
301609 records sent, 56040.3 records/sec (18.92 MB/sec), 531.0 ms avg latency, 2021.0 ms max latency.
1000000 records sent, 49519.7 records/sec (16.72 MB/sec), 699.13 ms avg latency, 3098.00 ms max latency, 328 ms 50th, 2135 ms 95th, 2371 ms 99th, 2466 ms 99.9th.
"""

CONSUMER = """time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-25 12:09:20:765, 0, 0.0003, 0.0002, 1, 0.5488, 1209, 613, 0.0006, 1.6313
2026-11-25 12:09:21:771, 0, 19.3904, 19.2744, 57436, 57092.4453, 0, 1006, 19.2744, 57092.4453
2026-11-25 12:09:22:776, 0, 75.2816, 55.6131, 222990, 164730.3483, 0, 1005, 55.6131, 164730.3483
2026-11-25 12:09:23:776, 0, 132.8499, 57.5683, 393512, 170522.0000, 0, 1000, 57.5683, 170522.0000
2026-11-25 12:09:24:776, 0, 259.4556, 126.6057, 768528, 375016.0000, 0, 1000, 126.6057, 375016.0000
"""


def test_producer_rate_leaves_out_the_first_window_and_the_whole_run_average():
    steady = (323977 + 301609) / (323977 / 64743.6 + 301609 / 56040.3)
    assert steady_producer_rate(PRODUCER) == pytest.approx(steady)


def test_consumer_rate_starts_past_the_warm_up():
    # 20 % of 1M records: the first report at or past 200,000 is 12:09:22:776
    assert steady_consumer_rate(CONSUMER, 1_000_000) == pytest.approx((768528 - 222990) / 2.0)


def test_pairs_are_interleaved_and_reported_with_their_spread():
    calls = []

    def side(name, rate):
        def measure():
            calls.append(name)
            return rate
        return measure

    rates = iter([10.0, 30.0, 20.0])
    out = interleaved(lambda: calls.append("ours") or next(rates), {"ref": side("ref", 10.0), "other": side("other", 5.0)})
    assert calls == ["ours", "ref", "other"] * 3
    assert out["ref"] | {"runs": None} == {"median": 2.0, "min": 1.0, "max": 3.0, "runs": None, "stable": True}
    assert [r["ratio"] for r in out["other"]["runs"]] == [2.0, 6.0, 4.0]
    assert interleaved(lambda: 1.0, {"ref": lambda: 1.0}, 1, "too few records")["ref"]["stable"] is False
