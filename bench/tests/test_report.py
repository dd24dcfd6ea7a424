"""The report's arithmetic: ratios to the ceiling, the targets, wrk's output. No timing."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import pytest

from newsroom_bench import cpu, load, memory, report
from newsroom_bench.load import LoadResult, Scenario
from newsroom_bench.memory import ProcessMemory
from newsroom_bench.pipeline import Ingestion, Latencies, percentile


def run(name: str, rate: float, *, p99: float = 10.0, non_2xx: int = 0) -> LoadResult:
    return LoadResult(
        name=name,
        requests=int(rate * 10),
        seconds=10.0,
        non_2xx=non_2xx,
        socket_errors=0,
        latency_ms={"p50": p99 / 4, "p90": p99 / 2, "p99": p99, "mean": p99 / 3, "max": p99},
    )


def results(**rates: float) -> report.Results:
    return report.Results(
        machine={"machine": "test"},
        ceiling_before=run("ceiling", 900.0, p99=4.0),
        ceiling_after=run("ceiling", 1100.0, p99=6.0),
        endpoints={name: run(name, rate) for name, rate in rates.items()},
    )


def test_the_ceiling_is_the_mean_of_its_runs_and_ratios_divide_by_it() -> None:
    measured = results(**{report.LIST_AUTH: 400.0})

    assert measured.ceiling == 1000.0
    assert measured.ratio(report.LIST_AUTH) == pytest.approx(0.4)
    # p99 10 ms against the ceiling runs' mean p99 of 5 ms.
    assert measured.latency_ratio(report.LIST_AUTH, 99) == pytest.approx(2.0)
    assert math.isnan(measured.ratio(report.FEED))


def by_measure(measured: report.Results) -> dict[str, report.Verdict]:
    return {v.target.measure: v for v in report.verdicts(measured)}


def test_targets_are_judged_on_ratios_and_unmeasured_ones_are_missed() -> None:
    measured = results(**{report.LIST_AUTH: 400.0, report.SINGLE: 449.0, report.LIST_ANON: 1500.0})

    verdicts = by_measure(measured)

    assert verdicts["list 20, authenticated"].met  # exactly at issue 20's goal
    assert not verdicts["single article"].met
    assert verdicts["list of 20, anonymous, gateway cache"].met
    assert not verdicts["feed, authenticated"].met
    assert verdicts["feed, authenticated"].shown() == "not measured"


def test_every_row_of_issue_20s_table_is_judged_with_its_before_and_goal() -> None:
    rows = {
        "feed, authenticated": ("0.04", "≥ 0.25"),
        "create article": ("0.03", "≥ 0.15"),
        "single article": ("0.20", "≥ 0.45"),
        "list 20, authenticated": ("0.29", "≥ 0.40"),
        "views ingestion vs bare kafka-python consumer": ("0.26", "≥ 0.60"),
        "read → count p99 at 1,000 reads/s": ("0.445 s", "≤ 0.25 s"),
        "RSS per API worker (largest)": ("97.8 MB", "≤ 80 MB"),
        "PSS per API worker (largest)": ("70.8 MB", "≤ 55 MB"),
    }
    targets = {t.measure: t for t in report.TARGETS}

    assert {m: (targets[m].before, targets[m].goal) for m in rows} == rows
    summary = report.summary(results(**{report.FEED: 300.0}))
    for measure in rows:
        assert measure in summary
    assert "met    feed, authenticated" in summary
    assert "MISSED create article" in summary


def test_any_error_response_misses_the_zero_errors_target() -> None:
    measured = results(**{report.TAGS: 700.0})
    assert by_measure(measured)["non-2xx responses in any run"].met

    measured.endpoints[report.LOGIN] = run(report.LOGIN, 5.0, non_2xx=1)

    assert not by_measure(measured)["non-2xx responses in any run"].met


def test_pipelines_scale_and_memory_targets() -> None:
    measured = results(**{report.LIST_AUTH: 400.0, report.LIST_AT_SCALE: 330.0})
    measured.ingestion = Ingestion(
        events=1000, rounds=3, bare_rate=10_000.0, ingest_rate=6_000.0, ratio=0.6
    )
    measured.read_to_count = Latencies(samples=[0.2] * 98 + [1.5, 2.5])
    measured.outbox = Latencies(samples=[0.05] * 100)
    measured.memory = [
        ProcessMemory("articles-api worker 1", 10, rss_mib=70.0, pss_mib=50.0),
        ProcessMemory("articles-api worker 2", 12, rss_mib=69.0, pss_mib=55.0),
        # Background workers are reported but not judged against the per-worker target.
        ProcessMemory("kafka", 11, rss_mib=400.0, pss_mib=390.0),
    ]

    verdicts = by_measure(measured)

    assert verdicts["views ingestion vs bare kafka-python consumer"].value == pytest.approx(0.6)
    assert verdicts["views ingestion vs bare kafka-python consumer"].met
    assert verdicts["read → count p99 at 1,000 reads/s"].value == 1.5
    assert not verdicts["read → count p99 at 1,000 reads/s"].met
    assert verdicts["outbox write-to-Kafka p99"].met
    assert verdicts["list throughput at 100,000 articles vs 1,000"].value == pytest.approx(0.825)
    rss = verdicts["RSS per API worker (largest)"]
    assert rss.value == pytest.approx(73.4, abs=0.01)  # 70 MiB in MB
    assert rss.met
    pss = verdicts["PSS per API worker (largest)"]
    assert pss.value == pytest.approx(57.67, abs=0.01)  # the larger, 55 MiB, in MB
    assert not pss.met


def test_nearest_rank_percentile() -> None:
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert percentile(list(range(1, 101)), 99) == 99
    assert math.isnan(percentile([], 50))


def test_the_markdown_report_lists_every_target_and_endpoint() -> None:
    measured = results(**{report.LIST_AUTH: 400.0})

    text = report.markdown(measured, charts=["throughput.png"])

    assert "| list, authenticated | 400 | 0.40 |" in text
    assert text.count("| **no** |") + text.count("| yes |") == len(report.TARGETS)
    assert "![throughput](throughput.png)" in text


def test_wrk_output_is_read_from_the_scripts_json_line() -> None:
    output = (
        "Running 10s test @ http://127.0.0.1:1\n"
        'BENCH_JSON {"requests":5000,"duration_us":10000000,"non_2xx":2,"socket_errors":1,'
        '"mean":3.5,"max":40,"latency":{"p50":3,"p90":6,"p99":12.5}}\n'
    )

    result = load.parse_output("tags", output)

    assert result.rate == 500.0
    assert (result.non_2xx, result.socket_errors) == (2, 1)
    assert result.latency_ms["p99"] == 12.5


def test_the_wrk_script_rotates_paths_and_paces_when_asked() -> None:
    script = load.lua_script(
        Scenario("reads", "GET", ["/a", "/b"], {"Authorization": "Token t"}, delay_ms=30)
    )

    assert 'local paths = {"/a", "/b"}' in script
    assert '["Authorization"] = "Token t"' in script
    assert "return 30" in script
    assert "function delay" not in load.lua_script(Scenario("x", "GET", ["/"]))


def test_profiles_count_busy_samples_only() -> None:
    from newsroom_bench import profiles

    handler = 'process 1:"gunicorn";thread (0x1);handle (gunicorn/workers/gthread.py:10);'
    use_case = "list_articles (/w/services/articles/src/newsroom_articles/service_layer/articles.py"
    raw = (
        f"{handler}{use_case}:45);"
        "do_execute (/v/lib/python3.11/site-packages/sqlalchemy/engine/default.py:9) 3\n"
        f"{handler}{use_case}:46) 1\n"
        'process 1:"gunicorn";thread (0x2);EpollSelector.select (selectors.py:468) 50\n'
    )

    busy, own, newsroom = profiles.summarize(raw)

    assert busy == 4
    assert own[0] == ("do_execute (sqlalchemy/engine/default.py)", 0.75)
    assert newsroom == [("list_articles (newsroom_articles/service_layer/articles.py)", 1.0)]


def test_a_gil_profile_asks_py_spy_for_gil_samples_and_says_so(tmp_path: Path) -> None:
    from newsroom_bench import profiles
    from newsroom_bench.cli import Profiler

    profiler = Profiler(tmp_path, {"articles-api": os.getpid()}, ["list-auth"], gil=True)
    scenario = Scenario("list-auth", "GET", ["/"])
    process = profiler.record(scenario, seconds=1)
    assert process is not None
    process.wait(timeout=30)
    argv = list(process.args)  # type: ignore[arg-type]
    assert "--gil" in argv
    assert str(tmp_path / "profile-list-auth.gil.txt") in argv
    (tmp_path / "profile-list-auth.gil.txt").write_text(
        'process 1:"gunicorn";thread (0x1);handle (gunicorn/workers/gthread.py:10) 7\n'
    )

    text = profiles.markdown(tmp_path)

    assert "### list-auth (7 samples holding the GIL)" in text


def test_the_import_floor_is_measured_in_a_fresh_interpreter_and_reported() -> None:
    steps = memory.import_floor(("json", "email.message"))
    assert [name for name, _ in steps] == ["python", "json", "email.message"]
    rss = [value for _, value in steps]
    assert rss == sorted(rss)
    assert rss[0] > 0
    measured = results(**{report.LIST_AUTH: 100})
    measured.import_floor = [("python", 10.0), ("flask", 34.5)]
    text = report.markdown(measured)
    assert "| `flask` | 24.5 | 34.5 |" in text


def test_cpu_per_request_is_read_from_proc_and_tabled_by_process() -> None:
    me = {"bench": os.getpid()}
    before = cpu.snapshot(me)
    sum(i * i for i in range(300_000))
    after = cpu.snapshot(me)
    assert after["bench"] > before["bench"]
    spent = cpu.per_request({"a": 1.0, "b": 2.0}, {"a": 1.5, "b": 2.0, "c": 0.1}, 100)
    assert spent == {"a": 5.0, "c": 1.0}
    assert cpu.per_request(before, after, 0) == {}
    measured = results(**{report.LIST_AUTH: 100})
    measured.endpoints[report.LIST_AUTH] = dataclasses.replace(
        measured.endpoints[report.LIST_AUTH], cpu_ms={"articles-api": 1.25, "postgres": 0.5}
    )
    text = report.markdown(measured)
    assert "| endpoint | all | articles-api | postgres | others |" in text
    assert "| list, authenticated | 1.75 | 1.25 | 0.50 | 0.00 |" in text
