"""Issue 14, items 5 and 6: reads that never hang or overread; outputs that never destroy or leak.

Every case drives the real code on real files (FIFOs, devices, symlinks), and
end to end through a pytest subprocess with a timeout, so a hang fails the
test instead of stalling the suite.
"""

from __future__ import annotations

import json
import re
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_k8shardening.checks import secrets
from pytest_k8shardening.loader import (
    DEFAULT_MAX_EXPANDED_BYTES,
    ManifestError,
    _guard_size,
    load_inventory,
    load_paths,
    parse_text,
)
from pytest_k8shardening.model import Container, Inventory, Scope, Workload
from pytest_k8shardening.redact import LITERAL, redact_credentials, stand_in
from pytest_k8shardening.safeio import (
    InputRefused,
    OutputRefused,
    atomic_write,
    check_outputs,
    read_regular_file,
)
from pytest_k8shardening.target import save_snapshot

ROOT = Path(__file__).resolve().parents[1]
INSECURE = ROOT / "examples" / "insecure"

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: web, image: nginx:1.27}]
"""


def _within(seconds: float, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a thread; fail (instead of hanging the suite) when it takes longer."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds} s (a hang)"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


# -- 5a: only regular files are read; the limit counts bytes read ---------------------------------------------

def test_fifo_named_like_a_manifest_in_a_folder_is_an_error_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(ManifestError, match=r"pipe\.yaml: cannot read: a FIFO \(named pipe\), not a regular file"):
        _within(10, lambda: load_paths([str(tmp_path)]))


def test_symlink_to_dev_zero_is_refused_not_read(tmp_path: Path) -> None:
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(ManifestError, match=r"zero\.yaml: cannot read: a character device, not a regular file"):
        _within(10, lambda: load_paths([str(tmp_path)], max_bytes=1024))
    # named on the command line: refused before any read
    with pytest.raises(ManifestError, match=r"zero\.yaml: cannot read: a character device, not a regular file"):
        _within(10, lambda: load_paths([str(tmp_path / "zero.yaml")]))


def test_symlink_to_a_regular_file_is_read(tmp_path: Path) -> None:
    real = tmp_path / "real" / "pod.yaml"
    real.parent.mkdir()
    real.write_text(POD)
    (tmp_path / "scan").mkdir()
    (tmp_path / "scan" / "link.yaml").symlink_to(real)
    objs, files = load_paths([str(tmp_path / "scan")])
    assert [o.ref for o in objs] == ["shop/Pod/web"] and files == [str(tmp_path / "scan" / "link.yaml")]


@pytest.mark.parametrize(("size", "ok"), [(1023, True), (1024, True), (1025, False)])
def test_size_limit_counts_bytes_read(tmp_path: Path, size: int, ok: bool) -> None:
    f = tmp_path / "f.yaml"
    f.write_bytes(b"#" * size)
    if ok:
        assert len(read_regular_file(f, 1024)) == size
    else:
        with pytest.raises(InputRefused, match="larger than the limit of 1024 bytes"):
            read_regular_file(f, 1024)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused_whatever_stat_says(path: str) -> None:
    assert os.stat(path).st_size == 0  # why the old size check let them through
    with pytest.raises(InputRefused, match="a character device, not a regular file"):
        _within(10, lambda: read_regular_file(path, 1024))


def test_directory_and_socket_are_refused(tmp_path: Path) -> None:
    import socket

    with pytest.raises(InputRefused, match="a directory"):
        read_regular_file(tmp_path, 10)
    sock_path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(ManifestError, match=r"s\.yaml: cannot read: "):
            _within(10, lambda: load_paths([str(tmp_path)]))


def test_fifo_or_device_in_a_folder_is_an_error_result_never_a_hang(tmp_path: Path) -> None:
    target = tmp_path / "manifests"
    target.mkdir()
    (target / "pod.yaml").write_text(POD)
    os.mkfifo(target / "stuck.yaml")
    (target / "zero.yaml").symlink_to("/dev/zero")
    proc = _run(["--k8s-manifests", str(target), "-m", "nsa"], tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]  # the input errors fail the run
    for name, what in (("stuck.yaml", "a FIFO (named pipe)"), ("zero.yaml", "a character device")):
        assert f"input not scanned: {target / name}: cannot read: {what}, not a regular file" in proc.stdout
        assert f"FAILED k8shardening/inputs::{target / name}" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_named_fifo_or_device_is_a_usage_error(tmp_path: Path, kind: str) -> None:
    named = tmp_path / "named.yaml"
    if kind == "fifo":
        os.mkfifo(named)
    else:
        named.symlink_to("/dev/zero")
    proc = _run(["--k8s-manifests", str(named)], tmp_path, timeout=120)
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"ERROR: k8shardening: cannot read the target: {named}: cannot read: a " in proc.stderr
    assert "not a regular file; only regular files are read" in proc.stderr


# -- 5b: expansion bounded in bytes; duplicate container names refused ----------------------------------------

def test_alias_expansion_is_bounded_in_bytes() -> None:
    big = "x" * (1024 * 1024)
    keys = "\n".join(f"  k{i}: *big" for i in range(DEFAULT_MAX_EXPANDED_BYTES // len(big) + 2))
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  k: &big {big}\n{keys}\n"
    assert len(text) < 2 * 1024 * 1024  # 1 MiB written, well under the file limit
    with pytest.raises(ManifestError, match=r"x\.yaml: document 1: YAML aliases expand to more than \d+ bytes"):
        parse_text(text, "x.yaml")


@pytest.mark.parametrize(("limit", "ok"), [(10_000, True), (2_999, False)])
def test_guard_counts_scalar_bytes_through_aliases(limit: int, ok: bool) -> None:
    # 1 written scalar of 1000 bytes, reached three times: 3000 bytes (+ short keys) expanded
    text = "a: &s " + "y" * 1000 + "\nb: *s\nc: *s\n"
    node = yaml.compose(text)
    if ok:
        _guard_size(node, 1000, "f.yaml", 1, limit)
    else:
        with pytest.raises(ManifestError, match="more than 2999 bytes"):
            _guard_size(node, 1000, "f.yaml", 1, limit)


def test_aliases_within_bounds_still_read() -> None:
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  template:\n"
            "    spec:\n      containers:\n        - &c {name: web, image: nginx, env: [{name: A, value: b}]}\n"
            "        - {<<: *c, name: sidecar}\n")
    [obj] = parse_text(text, "ok.yaml")
    assert [c["name"] for c in obj.raw["spec"]["template"]["spec"]["containers"]] == ["web", "sidecar"]


def _deploy(containers: str) -> str:
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n"
            f"spec:\n  template:\n    spec:\n{containers}")


@pytest.mark.parametrize(("containers", "field", "other"), [
    ("      containers: [{name: web, image: a}, {name: web, image: b}]\n",
     "spec.template.spec.containers[1].name", "spec.template.spec.containers[0]"),
    ("      initContainers: [{name: web, image: a}]\n      containers: [{name: web, image: b}]\n",
     "spec.template.spec.containers[0].name", "spec.template.spec.initContainers[0]"),
    ("      containers: [{name: web, image: a}]\n      ephemeralContainers: [{name: web, image: b}]\n",
     "spec.template.spec.ephemeralContainers[0].name", "spec.template.spec.containers[0]"),
])
def test_duplicate_container_names_are_refused(tmp_path: Path, containers: str, field: str, other: str) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text(_deploy(containers))
    with pytest.raises(ManifestError) as err:
        load_inventory([str(f)], Scope())
    msg = str(err.value)
    assert str(f) in msg and "Deployment shop/Deployment/api" in msg and field in msg and other in msg
    assert "duplicate container name 'web'" in msg


def test_distinct_container_names_are_fine() -> None:
    [obj] = parse_text(_deploy("      initContainers: [{name: init, image: a}]\n"
                               "      containers: [{name: web, image: b}, {name: log, image: c}]\n"), "ok.yaml")
    assert [c.name for c in Workload(obj).containers] == ["init", "web", "log"]


def test_alias_reused_as_300_container_names_is_a_usage_error_not_gigabytes(tmp_path: Path) -> None:
    name = "n" * 60
    items = "\n".join(f"      - {{name: *n, image: img{i}}}" for i in range(300))
    f = tmp_path / "bomb.yaml"
    f.write_text(_deploy(f"      initContainers: [{{name: &n {name}, image: x}}]\n      containers:\n{items}\n"))
    out = tmp_path / "r.json"
    proc = _run(["--k8s-manifests", str(f), "--k8s-report-json", str(out)], tmp_path)
    assert proc.returncode == 4, proc.stdout[-1500:]
    assert "duplicate container name" in proc.stderr and "bomb.yaml" in proc.stderr
    assert not out.exists()


# -- 6: outputs checked before the scan ----------------------------------------------------------------------

@pytest.fixture
def target(tmp_path: Path) -> Path:
    d = tmp_path / "manifests"
    d.mkdir()
    (d / "pod.yaml").write_text(POD)
    return d


def _refused(proc: subprocess.CompletedProcess[str], option: str, path: Path | str, why: str) -> None:
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert f"k8shardening: {option} {path}: " in proc.stderr and why in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "passed" not in proc.stdout  # refused before the scan


def test_report_over_an_input_manifest_is_refused(tmp_path: Path, target: Path) -> None:
    manifest = target / "pod.yaml"
    for args in (["--k8s-manifests", str(manifest)], ["--k8s-manifests", str(target)]):
        proc = _run([*args, "--k8s-report-json", str(manifest)], tmp_path)
        _refused(proc, "--k8s-report-json", manifest, "is an input of this run")
        assert manifest.read_text() == POD


def test_report_over_the_waiver_file_or_ini_file_is_refused(tmp_path: Path, target: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers: []\n")
    proc = _run(["--k8s-manifests", str(target), "--k8s-waivers", str(waivers), "--k8s-report-sarif", str(waivers)],
                tmp_path)
    _refused(proc, "--k8s-report-sarif", waivers, "is an input of this run")
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n")
    proc = _run(["--k8s-manifests", str(target), "--k8s-report-json", str(ini)], tmp_path)
    _refused(proc, "--k8s-report-json", ini, "is an input of this run")
    assert ini.read_text() == "[pytest]\n" and waivers.read_text() == "waivers: []\n"


def test_snapshot_over_the_kubeconfig_is_refused_before_connecting(tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    text = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
    kc.write_text(text)
    proc = _run(["--k8s-kubeconfig", str(kc), "--k8s-save-snapshot", str(kc)], tmp_path)
    _refused(proc, "--k8s-save-snapshot", kc, "is an input of this run")
    env = {**os.environ, "KUBECONFIG": f"{tmp_path / 'other'}{os.pathsep}{kc}"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--k8s-context", "prod",
                           "--k8s-save-snapshot", str(kc)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=env)
    _refused(proc, "--k8s-save-snapshot", kc, "is an input of this run")
    assert kc.read_text() == text


def test_report_over_a_helm_values_file_is_refused(tmp_path: Path, target: Path) -> None:
    values = tmp_path / "prod-values.yaml"
    values.write_text("replicas: 2\n")
    for arg in (str(values), f"shop={values}"):
        proc = _run(["--k8s-manifests", str(target), "--k8s-helm-values", arg, "--k8s-report-json", str(values)],
                    tmp_path)
        _refused(proc, "--k8s-report-json", values, "is an input of this run")
    assert values.read_text() == "replicas: 2\n"


def test_report_path_that_is_a_folder_or_a_fifo_is_refused(tmp_path: Path, target: Path) -> None:
    proc = _run(["--k8s-manifests", str(target), "--k8s-report-json", str(tmp_path)], tmp_path)
    _refused(proc, "--k8s-report-json", tmp_path, "is a directory")
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    proc = _run(["--k8s-manifests", str(target), "--k8s-report-json", str(fifo)], tmp_path)
    _refused(proc, "--k8s-report-json", fifo, "is a FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_report_over_a_device_is_refused_and_the_device_stays(tmp_path: Path, target: Path) -> None:
    proc = _run(["--k8s-manifests", str(target), "--k8s-report-sarif", "/dev/null"], tmp_path)
    _refused(proc, "--k8s-report-sarif", "/dev/null", "is a character device")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_report_in_an_unwritable_place_is_refused_before_the_scan(tmp_path: Path, target: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _run(["--k8s-manifests", str(target), "--k8s-report-json", str(blocker / "r.json")], tmp_path)
    _refused(proc, "--k8s-report-json", blocker / "r.json", "cannot use this path: Not a directory")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        proc = _run(["--k8s-manifests", str(target), "--k8s-report-json", str(locked / "r.json")], tmp_path)
        _refused(proc, "--k8s-report-json", locked / "r.json", "cannot create a file in")
    if not os.access("/proc/sys", os.W_OK):  # read-only for root too
        proc = _run(["--k8s-manifests", str(target), "--k8s-report-json", "/proc/sys/r.json"], tmp_path)
        _refused(proc, "--k8s-report-json", "/proc/sys/r.json", "cannot create a file in /proc/sys")


def test_two_outputs_on_one_path_are_refused(tmp_path: Path, target: Path) -> None:
    proc = _run(["--k8s-manifests", str(target), "--k8s-report-json", "r.out", "--k8s-report-sarif", "./r.out"],
                tmp_path)
    _refused(proc, "--k8s-report-sarif", "r.out", "the same file as --k8s-report-json r.out")


def test_new_report_beside_manifests_is_fine(tmp_path: Path, target: Path) -> None:
    proc = _run(["--k8s-manifests", str(target / "pod.yaml"), "--k8s-report-json", str(target / "r.json"),
                 "--k8s-report-sarif", str(tmp_path / "new" / "dir" / "r.sarif"), "-m", "nsa"], tmp_path)
    assert proc.returncode == 1, proc.stderr[-1500:]
    assert json.loads((target / "r.json").read_text())["summary"]["failed"] > 0
    assert (tmp_path / "new" / "dir" / "r.sarif").exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".")]  # no temp file left


# -- 6: writes are exclusive, atomic, cleaned up ---------------------------------------------------------------

def test_write_failure_is_exit_4_the_other_report_is_written_and_no_temp_file_is_left(tmp_path: Path,
                                                                                      target: Path) -> None:
    # The JSON's folder does not exist at the start (fine: it is created); a conftest puts a file in its
    # way mid-run, so the write fails after the scan.
    (tmp_path / "conftest.py").write_text(
        "import pathlib\n"
        "def pytest_collection_finish(session):\n"
        "    pathlib.Path('later').write_text('in the way')\n")
    proc = _run(["--k8s-manifests", str(target), "-m", "nsa", "--k8s-report-json", "later/r.json",
                 "--k8s-report-sarif", "r.sarif"], tmp_path)
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "ERROR: k8shardening: cannot write --k8s-report-json later/r.json: " in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert json.loads((tmp_path / "r.sarif").read_text())["runs"][0]["results"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conftest.py", "later", "manifests", "r.sarif"]


def test_atomic_write_removes_its_temp_file_and_keeps_the_old_target(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("old")

    def boom(fh: Any) -> None:
        fh.write("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write(out, boom)
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_atomic_write_never_follows_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    out = tmp_path / "snap.yaml"
    for name in (".snap.yaml.tmp", ".k8shardening-tmp.json"):  # the old fixed temp names
        (tmp_path / name).symlink_to(victim)
    atomic_write(out, lambda fh: fh.write("new"), private=True)
    assert victim.read_text() == "precious" and out.read_text() == "new"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    out.unlink()
    out.symlink_to(victim)  # a symlink at the target itself is replaced, not written through
    atomic_write(out, lambda fh: fh.write("new"))
    assert victim.read_text() == "precious" and not out.is_symlink() and out.read_text() == "new"


def test_check_outputs_unit(tmp_path: Path) -> None:
    d = tmp_path / "m"
    (d / ".hidden").mkdir(parents=True)
    (d / "a.yaml").write_text(POD)
    (d / ".hidden" / "b.yaml").write_text(POD)
    (d / "notes.txt").write_text("x")
    check_outputs([("--o", d / "new.yaml"), ("--p", d / "notes.txt"), ("--q", d / ".hidden" / "b.yaml")], [],
                  [(d, (".yaml",))])
    with pytest.raises(OutputRefused, match="a manifest in"):
        check_outputs([("--o", d / "a.yaml")], [], [(d, (".yaml",))])


# -- 6: snapshots are private and carry no flagged value, yet replay to the same verdicts ----------------------

CREDS = {  # name -> value: each flagged by the credential checks, for a different reason
    "DB_PASSWORD": "hunter2-live",
    "AWS_KEY": "AKIAIOSFODNN7EXAMPLE",
    "GH": "ghp_" + "a1B2c3D4" * 5,
    "GITLAB": "glpat-abcdefghij0123456789",
    "SLACK": "xoxb-1234567890-abcdef",
    "MAPS": "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "SESSION": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "DATABASE_URL": "postgres://app:s3cr3t-Passw0rd@db:5432/app",
    "KEY": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7secretbody\n-----END RSA PRIVATE KEY-----\n",
}
NOT_FLAGGED = {"LOG_LEVEL": "debug", "PASSWORD_FILE": "/run/secrets/db", "TOKEN_TTL": "3600", "API_TOKEN": "$(TOK)"}
CONFIG_FILE = "# app config\nlisten: 8080\npassword: hunter3-in-file\nurl: https://u:p4ss@example.com/x\n\nname: app\n"


def _objects() -> list[dict[str, Any]]:
    env = [{"name": k, "value": v} for k, v in {**CREDS, **NOT_FLAGGED}.items() if "\n" not in v]
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
              "spec": {"template": {"spec": {
                  "initContainers": [{"name": "init", "image": "x", "env": env[:2]}],
                  "containers": [{"name": "web", "image": "x", "env": env}]}}}}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "shop"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                {"name": "job", "image": "x", "env": [{"name": "API_SECRET", "value": "abc-123-live"}]}]}}}}}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"},
          "data": {**CREDS, **NOT_FLAGGED, "app.yaml": CONFIG_FILE},
          "binaryData": {"signing-key": "c2VjcmV0", "logo.png": "iVBORw0K"}}
    applied = {**cm, "metadata": {"name": "cfg", "namespace": "shop"}}
    cm["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)}
    return [deploy, cron, cm]


def _verdicts(inv: Inventory) -> list[tuple[str, list[tuple[str, str]]]]:
    out = []
    for w in inv.all_workloads():
        for c in w.containers:
            out.append((c.id, [(f.message, f.field) for f in secrets.env_credentials(c)]))
    for o in inv.of_kind("ConfigMap"):
        out.append((o.ref, [(f.message, f.field) for f in secrets.configmap_credentials(o)]))
    return out


def test_every_stand_in_is_flagged_for_the_same_reason() -> None:
    assert all(secrets.classify(k, v) for k, v in CREDS.items())
    assert not any(secrets.classify(k, v) for k, v in NOT_FLAGGED.items())
    assert len({secrets.classify(k, v) for k, v in CREDS.items()}) == len(CREDS)  # every reason once
    for name, value in {**CREDS, **NOT_FLAGGED}.items():
        new = stand_in(name, value)
        assert (new is None) == (secrets.classify(name, value) is None), name
        if new is not None:
            assert secrets.classify(name, new) == secrets.classify(name, value), name
            assert value not in new


def test_redacted_objects_keep_every_verdict_and_no_value() -> None:
    from pytest_k8shardening.loader import make_object
    from pytest_k8shardening.model import Source

    raws = _objects()
    before = Inventory([make_object(r, "x", Source("x.yaml")) for r in raws])
    after = Inventory([make_object(redact_credentials(r), "x", Source("x.yaml")) for r in raws])
    assert _verdicts(before) == _verdicts(after)
    assert any(findings for _, findings in _verdicts(after))
    text = json.dumps([o.raw for o in after.objects])
    for secret in [*CREDS.values(), "hunter3-in-file", "p4ss", "abc-123-live", "c2VjcmV0", "MIIEpAIBAAKCAQEA7secretbody"]:
        assert secret.strip() not in text, secret
    for kept in [*NOT_FLAGGED.values(), "iVBORw0K"]:
        assert kept in text, kept
    # a config file with a flagged line is replaced whole, line for line (a key's body is on unflagged lines)
    config = after.get("ConfigMap", "shop", "cfg").raw["data"]["app.yaml"]  # type: ignore[union-attr]
    url = "https://redacted:k8shardening-redacted@redacted.invalid"
    assert config.splitlines() == ["#", "#", f"password: {LITERAL}", url, "", "#"]
    assert LITERAL in text
    assert json.loads(raws[2]["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert _verdicts(before)[0][1]  # the original objects are untouched
    assert raws[0]["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "hunter2-live"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_snapshot_is_private_redacted_and_replays_to_the_same_results(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "objects.yaml").write_text(yaml.safe_dump_all(_objects()))
    for f in INSECURE.rglob("*.yaml"):
        (src / f.name).write_text(f.read_text())
    snap = tmp_path / f"snap{suffix}"
    (tmp_path / f".snap{suffix}.tmp").symlink_to(src / "objects.yaml")  # planted where the old temp file went
    save_snapshot(load_inventory([str(src)], Scope()), snap)
    assert stat.S_IMODE(os.stat(snap).st_mode) == 0o600
    assert "hunter2-live" in (src / "objects.yaml").read_text()  # the planted link's target is untouched
    text = snap.read_text()
    for secret in ("hunter2-live", "hunter3-in-file", "abc-123-live", "MIIEpAIBAAKCAQEA7secretbody"):
        assert secret not in text
    first = _run(["--k8s-manifests", str(src), "-m", "nsa or pss_restricted", "--k8s-report-json", "a.json"], tmp_path)
    again = _run(["--k8s-manifests", str(snap), "-m", "nsa or pss_restricted", "--k8s-report-json", "b.json"],
                 tmp_path)
    assert first.returncode == again.returncode == 1, again.stderr[-1500:]

    def results(name: str) -> list[tuple[str, str, Any]]:
        # objects.yaml and the example declare shop/Deployment/api differently: read from the folder they are
        # two variants (…@FILE), from the one snapshot file two copies of one variant (…#2); the verdicts match
        doc = json.loads((tmp_path / name).read_text())
        return sorted((re.sub(r"@[^\]:]*|#\d+", "", r["nodeid"]), r["outcome"],
                       [(f["message"], f.get("field")) for f in r.get("findings") or ()]) for r in doc["results"])

    a, b = results("a.json"), results("b.json")
    assert a == b
    creds = [r for r in b if "credentials" in r[0] and r[1] == "failed"]
    assert len(creds) >= 3, creds  # the credential checks still fail on the redacted snapshot


def test_container_and_workload_views_of_redacted_objects_are_unchanged() -> None:
    from pytest_k8shardening.loader import make_object
    from pytest_k8shardening.model import Source

    raw = _objects()[0]
    a = Workload(make_object(raw, "x", Source(None)))
    b = Workload(make_object(redact_credentials(raw), "x", Source(None)))
    assert [(c.id, c.path) for c in a.containers] == [(c.id, c.path) for c in b.containers]
    assert all(isinstance(c, Container) for c in b.containers)


# -- other inputs another reader opens: waiver file, kubeconfig ------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_waiver_file_and_kubeconfig_must_be_regular_files(tmp_path: Path, target: Path, kind: str) -> None:
    odd = tmp_path / "odd.yaml"
    if kind == "fifo":
        os.mkfifo(odd)
    else:
        odd.symlink_to("/dev/zero")
    what = "a FIFO (named pipe)" if kind == "fifo" else "a character device"
    proc = _run(["--k8s-manifests", str(target), "--k8s-waivers", str(odd)], tmp_path, timeout=60)
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert f"invalid waivers: {odd}: cannot read: {what}, not a regular file" in proc.stderr
    proc = _run(["--k8s-kubeconfig", str(odd)], tmp_path, timeout=60)
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert f"cannot load the cluster credentials (kubeconfig): {odd}: {what}, not a regular file" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
