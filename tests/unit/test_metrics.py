"""kube-proxy's histograms, on its /metrics recorded on a kind node of the 1.35 IPVS lab (the
iptables kube-proxy beside the VM), read as a node's bash /dev/tcp GET returns them."""

from __future__ import annotations

from pathlib import Path

import pytest

from svclab.observe.metrics import PROGRAMMING, SYNC, Histogram, body, histogram

RAW = (Path(__file__).resolve().parents[1] / "recorded" / "lab" / "kube-proxy-metrics-full-iptables-v1.35.4.txt"
       ).read_text()


def test_the_http_head_is_dropped_and_the_ipv4_histograms_read() -> None:
    assert RAW.startswith("HTTP/1.0 200 OK") and not body(RAW).startswith("HTTP/")
    programming, sync = histogram(RAW, PROGRAMMING), histogram(RAW, SYNC)
    assert programming is not None and sync is not None
    assert programming.count == 3 and programming.total == pytest.approx(5.726336982)
    assert sync.count == 3
    assert histogram(RAW, "kubeproxy_no_such_histogram") is None


def test_quantiles_are_promqls_linear_estimate_within_the_bucket() -> None:
    programming = histogram(RAW, PROGRAMMING)
    assert programming is not None
    # 0 observations <= 1 s, 2 <= 2 s, 3 <= 3 s
    assert programming.quantile(0.5) == pytest.approx(1.75)
    assert programming.quantile(0.99) == pytest.approx(2.97)
    assert programming.mean == pytest.approx(5.726336982 / 3)


def test_a_window_between_two_scrapes_holds_only_its_own_observations() -> None:
    later = histogram(RAW, PROGRAMMING)
    assert later is not None
    empty = later.minus(later)
    assert empty.count == 0 and empty.quantile(0.5) is None
    restarted = Histogram(((1.0, 1.0), (float("inf"), 1.0)), 1.0, 0.4)
    assert restarted.minus(later) is restarted  # counts fell: kube-proxy restarted, its own since then
    assert Histogram(((1.0, 0.0), (float("inf"), 2.0)), 2.0, 9.0).quantile(0.5) == 1.0  # +Inf: the last bound
