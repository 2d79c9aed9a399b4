"""Every benchmark-output parser on real samples and on bad input: truncated, malformed, empty, wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvewatch.errors import InputError
from cvewatch.gate import perf
from cvewatch.gate.model import Direction, Family, group_samples
from tests.gate.conftest import DATA, SAMPLES


def by_name(path: Path) -> dict[str, float]:
    return {m.name: m.value for m in perf.load_file(path)}


def test_fio2_json_per_job_and_direction() -> None:
    values = by_name(SAMPLES / "pkb/fio/fio-parser-sample-result.json")
    assert values["fio.sequential_read.read.iops"] == 253
    assert values["fio.sequential_read.read.bw"] == 129836
    # a direction without I/O gives no metric (never a zero)
    assert "fio.sequential_read.write.iops" not in values
    assert all(v > 0 for v in values.values())


def test_fio3_json_normal_text_around_json_and_ns_to_us() -> None:
    ms = perf.load_file(SAMPLES / "fio3/fio-3.42-randwrite-json+normal.txt")
    values = {m.name: m for m in ms}
    iops = values["fio./dev/nvme8n6.write.iops"]
    assert iops.value == pytest.approx(3201.659668)
    assert iops.direction is Direction.HIGHER and iops.family is Family.STORAGE
    lat = values["fio./dev/nvme8n6.write.clat_mean_us"]
    assert lat.value == pytest.approx(2486.019027849) and lat.direction is Direction.LOWER
    assert values["fio./dev/nvme8n6.write.clat_p99_us"].value == pytest.approx(4751.36)


def test_fio2_17_hist_sample() -> None:
    values = by_name(SAMPLES / "pkb/fio/hist/pkb-7fb0c9d8-0_fio.json")
    assert values["fio.rand_16k_read_100%-io-depth-1-num-jobs-2.read.iops"] == pytest.approx(8086.673998)


def test_iperf3_tcp_and_udp() -> None:
    tcp = by_name(SAMPLES / "iperf3/iperf3-3.9-tcp-client.json")
    assert tcp["iperf3.tcp.sum_sent.bits_per_second"] == pytest.approx(18435078.343252763)
    assert tcp["iperf3.tcp.sum_received.bits_per_second"] == pytest.approx(267428.250386254)
    assert tcp["iperf3.tcp.mean_rtt"] == 194883
    udp = {m.name: m for m in perf.load_file(DATA / "iperf3-udp.json")}
    assert udp["iperf3.udp.jitter_ms"].direction is Direction.LOWER
    assert udp["iperf3.udp.bits_per_second"].value == 999289344


def test_sysbench_oltp_and_memory_runs() -> None:
    oltp = by_name(SAMPLES / "pkb/sysbench-output-sample.txt")
    assert oltp == {
        "sysbench.oltp.transactions_per_s": 986.49,
        "sysbench.oltp.queries_per_s": 19730.45,
        "sysbench.oltp.latency_avg_ms": 16.21,
        "sysbench.oltp.latency_p100_ms": 116.80,
    }
    memory = perf.load_file(SAMPLES / "pkb/sysbench-memory-output-sample.txt")
    assert [m.value for m in memory] == [3803.18, 5343.59, 5353.06, 3811.29]
    assert {m.family for m in memory} == {Family.MEMORY}
    assert memory[0].name == "sysbench.memory.cpu0.write.1KiB.mib_per_s"


def test_netperf_text_wrapped_and_pkb_json() -> None:
    text = by_name(SAMPLES / "pkb/netperf_results.txt")
    assert text["netperf.udp_rr.throughput"] == 2217.06
    assert text["netperf.udp_rr.latency_p90_us"] == 487  # field name wrapped over two lines
    ms = perf.load_file(SAMPLES / "pkb/netperf_results.json")
    names = {m.name for m in ms}
    assert {
        "netperf.tcp_rr.throughput",
        "netperf.tcp_crr.throughput",
        "netperf.udp_stream.throughput",
    } <= names
    remotes = {dict(m.labels)["remote"] for m in ms}
    assert {"104.154.50.86", "10.240.31.117"} <= remotes
    grouped = group_samples(ms)
    assert grouped["netperf.tcp_rr.throughput"].values == (1405.50, 3545.77)


def test_stress_ng_info_and_metrc() -> None:
    assert by_name(SAMPLES / "pkb/stress_ng_output.txt") == {"stress-ng.context.bogo_ops_per_s": 4485.82}
    ms = {m.name: m for m in perf.load_file(DATA / "stress-ng-metrc.txt")}
    assert ms["stress-ng.vm.bogo_ops_per_s"].family is Family.MEMORY
    assert ms["stress-ng.cpu.bogo_ops_per_s"].value == 2560.19


def test_systemd_analyze_time_and_critical_chain() -> None:
    time = by_name(DATA / "systemd-analyze-time.txt")
    assert time["systemd.boot.total"] == pytest.approx(68.47)
    assert time["systemd.boot.userspace"] == pytest.approx(64.21)
    assert time["systemd.boot.graphical.target"] == pytest.approx(64.187)
    assert by_name(SAMPLES / "pkb/linux_boot/systemd1.output") == {
        "systemd.critical_chain.graphical.target": 2.741
    }
    chain = by_name(SAMPLES / "pkb/linux_boot/systemd2.output")
    assert chain == {"systemd.critical_chain.systemd-sysctl.service": pytest.approx(103e-6)}


def test_clusterloader2_perfdata() -> None:
    ms = {m.name: m for m in perf.load_file(SAMPLES / "k8s/clusterloader2-podstartup-perfdata.json")}
    assert ms["clusterloader2.pod_startup.Perc99"].value == pytest.approx(9122.894555)
    assert ms["clusterloader2.pod_startup.Perc50"].family is Family.CLUSTER
    assert ms["clusterloader2.pod_startup.Perc50"].direction is Direction.LOWER


def test_pkb_samples_derive_direction_and_family() -> None:
    ms = {m.name: m for m in perf.load_file(DATA / "pkb-samples.json")}
    assert "pkb.fio.lscpu" not in ms  # informational record
    assert ms["pkb.fio.random_read_test:iops"].direction is Direction.HIGHER
    assert ms["pkb.fio.random_read_test:latency:p99"].direction is Direction.LOWER
    assert ms["pkb.fio.random_read_test:bandwidth"].family is Family.STORAGE
    assert dict(ms["pkb.fio.random_read_test:iops"].labels)["fio_version"] == "fio-3.36"


def test_generic_jsonl_family_and_direction_from_labels() -> None:
    ms = {m.name: m for m in perf.load_file(DATA / "generic.jsonl")}
    assert ms["cluster.create_seconds"].family is Family.CLUSTER
    assert ms["cluster.upgrade_seconds"].direction is Direction.LOWER
    assert ms["node.disk.randread_iops"].direction is Direction.HIGHER
    assert ms["cluster.create_seconds"].labels == (("region", "westeurope"),)


REAL = [
    SAMPLES / "pkb/fio/fio-parser-sample-result.json",
    SAMPLES / "fio3/fio-3.42-randwrite-json+normal.txt",
    SAMPLES / "iperf3/iperf3-3.9-tcp-client.json",
    SAMPLES / "pkb/sysbench-output-sample.txt",
    SAMPLES / "pkb/netperf_results.txt",
    SAMPLES / "pkb/stress_ng_output.txt",
    SAMPLES / "pkb/linux_boot/systemd1.output",
    SAMPLES / "k8s/clusterloader2-podstartup-perfdata.json",
    DATA / "pkb-samples.json",
    DATA / "generic.jsonl",
]
EXPECTED = [
    "fio",
    "fio",
    "iperf3",
    "sysbench",
    "netperf",
    "stress-ng",
    "systemd-analyze",
    "clusterloader2",
    "pkb",
    "jsonl",
]


@pytest.mark.parametrize(("path", "fmt"), list(zip(REAL, EXPECTED, strict=True)), ids=EXPECTED)
def test_auto_detection(path: Path, fmt: str) -> None:
    assert perf.detect(path.read_text(), str(path)).name == fmt


@pytest.mark.parametrize(("path", "fmt"), list(zip(REAL, EXPECTED, strict=True)), ids=EXPECTED)
def test_truncated_file_is_an_error_naming_it(path: Path, fmt: str) -> None:
    text = path.read_text()
    cut = text[: len(text) // 4]  # before each format's measurement is complete
    with pytest.raises(InputError) as info:
        perf.parse_text(cut, "cut-file.out", fmt)
    assert "cut-file.out" in str(info.value)


@pytest.mark.parametrize("fmt", EXPECTED)
def test_empty_file_is_an_error(fmt: str) -> None:
    with pytest.raises(InputError, match=r"empty\.out: empty"):
        perf.parse_text("  \n", "empty.out", fmt)


@pytest.mark.parametrize(("path", "fmt"), list(zip(REAL, EXPECTED, strict=True)), ids=EXPECTED)
def test_wrong_format_is_an_error(path: Path, fmt: str) -> None:
    other = REAL[(REAL.index(path) + 3) % len(REAL)]
    with pytest.raises(InputError):
        perf.parse_text(other.read_text(), str(other), fmt)


def test_unknown_text_and_unknown_format() -> None:
    with pytest.raises(InputError, match="not a known benchmark output"):
        perf.parse_text("hello world\n", "x.txt")
    with pytest.raises(InputError, match="unknown benchmark format"):
        perf.parse_text("{}", "x.json", "nope")


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("fio", '{"fio version": "fio-3.1", "jobs": [{"jobname": "a", "error": 5, "read": {}}]}', "error 5"),
        (
            "fio",
            '{"fio version": "fio-3.1", "jobs": [{"jobname": "a", "read": {"iops": "x", "runtime": 1}}]}',
            "not a number",
        ),
        (
            "iperf3",
            '{"start": {}, "intervals": [], "end": {}, "error": "unable to connect to server"}',
            "unable to connect",
        ),
        (
            "jsonl",
            '{"metric": "a", "value": 1, "unit": "s", "labels": {"family": "cpu"}}',
            "labels.direction",
        ),
        (
            "jsonl",
            '{"metric": "a", "value": "1", "labels": {"family": "cpu", "direction": "lower"}}',
            "not a number",
        ),
        (
            "jsonl",
            '{"metric": "a", "value": 1, "labels": {"family": "gpu", "direction": "lower"}}',
            "unknown metric family",
        ),
        (
            "jsonl",
            '{"metric": "a", "value": NaN, "labels": {"family": "cpu", "direction": "lower"}}',
            "non-finite",
        ),
        ("pkb", '{"metric": "x", "value": 3, "unit": "furlongs", "test": "fio"}', "no direction known"),
        ("clusterloader2", '{"version": "v1", "dataItems": []}', "no dataItems"),
        (
            "stress-ng",
            "stress-ng: info:  [1] dispatching hogs: 1 cpu\nstress-ng: fail:  [1] cpu instance 0 "
            "corrupted bogo-ops counter\n",
            "failed run",
        ),
        ("systemd-analyze", "Startup finished in 1.2s (kernel) + 3.4s (userspace)\n", "truncated"),
    ],
)
def test_malformed_content(fmt: str, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        perf.parse_text(text, "bad.out", fmt)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        perf.load_file(tmp_path / "missing.json")
    binary = tmp_path / "fio.json"
    binary.write_bytes(b"\xff\xfe{")
    with pytest.raises(InputError, match="not UTF-8"):
        perf.load_file(binary)


def test_group_samples_refuses_one_name_for_two_metrics() -> None:
    a = perf.parse_text(
        '{"metric": "m", "value": 1, "unit": "s", "labels": {"family": "cpu", "direction": "lower"}}',
        "a.jsonl",
    )
    b = perf.parse_text(
        '{"metric": "m", "value": 1, "unit": "ms", "labels": {"family": "cpu", "direction": "lower"}}',
        "b.jsonl",
    )
    with pytest.raises(InputError, match=r"a\.jsonl"):
        group_samples([*a, *b])
