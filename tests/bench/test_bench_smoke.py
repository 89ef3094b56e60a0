"""Smoke tests of `make bench`: each benchmark runs on a tiny input and returns every figure with
the right type. The figures themselves are not checked: they are measurements, not assertions."""

from __future__ import annotations

import json

import pytest

from bench.backfill import SPHERON_EXCLUDED, measure_backfill
from bench.gas import OPERATIONS, measure_gas
from bench.ha import measure_failover, measure_ledger_throughput
from bench.latency import measure_latency, percentile
from bench.machine import cpu_model, machine_info
from bench.peer_oz import OPERATIONS as PEER_OPERATIONS
from bench.peer_oz import SYSTEMS, VARIANTS
from bench.report import (
    METRICS,
    MISSED,
    NOT_MEASURED,
    TARGETS,
    evaluate,
    format_peer_table,
    format_table,
)
from bench.specs import spec_json
from bench.webapp import measure_webapp
from services.spec.model import canonical_json, parse_spec
from testbed.anvil import Anvil


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_spec_json_is_a_valid_canonical_spec_of_the_exact_size():
    text = spec_json(700, cluster="smoke")
    assert len(text.encode("utf-8")) == 700
    assert canonical_json(parse_spec(text)) == text
    with pytest.raises(ValueError, match="at least"):
        spec_json(20)


def test_gas_reports_every_operation_for_every_system_and_the_governor_ratios():
    with Anvil() as node:
        figures = measure_gas(node.url, many_nfts=3, spec_bytes=400)
    gas = {f"gas.{op}" for op in OPERATIONS} | {f"gas.baseline.{op}" for op in OPERATIONS}
    gas |= {f"gas.peer_oz.{system}.{op}" for system in SYSTEMS for op in PEER_OPERATIONS}
    ratios = {f"gas.peer_oz.ratio.{variant}.{op}" for variant in VARIANTS for op in PEER_OPERATIONS}
    assert set(figures) == gas | ratios
    assert all(isinstance(figures[key], int) and figures[key] > 0 for key in gas)
    assert all(isinstance(figures[key], float) and figures[key] > 0 for key in ratios)
    lifecycle = [figures[f"gas.peer_oz.{system}.lifecycle_1vote"] for system in SYSTEMS]
    assert figures["gas.peer_oz.ratio.governor_calldata.lifecycle_1vote"] == round(
        lifecycle[0] / lifecycle[1], 4
    )
    table = format_peer_table(figures)
    assert table.count("\n") == 1 + len(PEER_OPERATIONS)
    assert f"{figures['gas.peer_oz.governor_calldata.lifecycle_1vote']:,}" in table


def test_peer_table_shows_missing_figures_as_not_measured():
    table = format_peer_table({"gas.peer_oz.spheron.propose_1kb": 119_000})
    propose = next(line for line in table.splitlines() if line.startswith("propose"))
    assert "119,000" in propose
    assert "not measured" in propose


def test_backfill_reports_throughput_calls_and_memory():
    figures = measure_backfill(events=25, page_size=10)
    assert figures["bot.backfill_events"] == 25
    assert figures["bot.backfill_spheron"] == SPHERON_EXCLUDED
    assert isinstance(figures["bot.backfill_etherscan_calls"], int)
    for key in ("bot.backfill_events_per_s", "bot.backfill_seconds", "bot.peak_rss_mb"):
        assert _is_number(figures[key]), key


def test_latency_reports_percentiles_of_real_watcher_runs():
    figures = measure_latency(proposals=2, poll_interval_s=0.2)
    assert figures["bot.latency_samples"] == 2
    assert figures["bot.poll_interval_s"] == 0.2
    for key in ("bot.latency_p50_s", "bot.latency_p95_s"):
        assert _is_number(figures[key]), key


def test_webapp_reports_render_time_round_trips_and_bundle_size():
    figures = measure_webapp(proposals=3, runs=1)
    assert figures["webapp.render_proposals"] == 3
    assert figures["webapp.rpc_requests_3"] >= 1
    assert figures["webapp.rpc_calls_3"] >= figures["webapp.rpc_requests_3"]
    for key in ("webapp.first_render_3_ms", "webapp.bundle_gzip_kib", "webapp.bundle_kib"):
        assert _is_number(figures[key]) and figures[key] > 0, key


def test_ha_reports_failover_and_ledger_throughput_on_both_backends(postgres_server):
    figures = measure_failover(postgres_server, trials=1, poll_interval_s=0.2, lease_s=2)
    assert figures["ha.failover_trials"] == 1
    assert (figures["ha.lease_s"], figures["ha.poll_interval_s"]) == (2, 0.2)
    assert 0 < figures["ha.failover_s_median"] <= figures["ha.failover_s_max"]
    figures = measure_ledger_throughput(postgres_server, rows=20)
    for backend in ("sqlite", "postgresql"):
        for figure in ("record_events_per_s", "lifecycles_per_s"):
            assert figures[f"ha.ledger.{backend}.{figure}"] > 0


def test_percentile_interpolates_between_ranks():
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_report_marks_targets_and_unmeasured_figures():
    results = {"gas.vote_1nft": 70_000, "gas.baseline.vote_1nft": 80_000}
    rows = {row.metric: row for row in evaluate(results)}
    assert list(rows) == list(METRICS)
    assert rows["gas.vote_1nft"].status == MISSED
    assert rows["gas.vote_1nft"].baseline_ratio == "87.5%"
    assert rows["gas.execute_1kb"].status == NOT_MEASURED
    assert rows["gas.mint_1"].status == ""
    table = format_table(list(rows.values()))
    assert all(target.metric in table for target in TARGETS)
    assert "70,000" in table


def test_machine_info_is_json_ready(tmp_path):
    info = machine_info()
    assert set(info) == {"platform", "python", "cpu_count", "cpu_model"}
    json.dumps(info)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU 9000\n")
    assert cpu_model(cpuinfo) == "Example CPU 9000"
