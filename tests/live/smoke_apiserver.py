"""Self-check for tests/live/apiserver.py: python tests/live/smoke_apiserver.py

Builds the control plane if needed (scripts/build-control-plane.sh), starts it, and checks that
Pod Security admission, RBAC for the scanner user and the audit log behave as in a real cluster.
Exit code 0 when every check passes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from apiserver import SCANNER_USER, ControlPlane, find_binaries  # noqa: E402

try:
    import kubernetes  # noqa: F401
except ImportError:
    print("installing the kubernetes client (pip install kubernetes)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "kubernetes"], check=True)

from kubernetes import client, config  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

FAILURES: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  [{'ok' if ok else 'FAIL'}] {what}")
    if not ok:
        FAILURES.append(what)


def privileged_pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="c",
                    image="registry.k8s.io/pause:3.10",
                    security_context=client.V1SecurityContext(privileged=True),
                )
            ]
        ),
    )


def bin_dir() -> Path:
    found = find_binaries()
    if found:
        return found
    print("no kube-apiserver/etcd found; running scripts/build-control-plane.sh", file=sys.stderr)
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-control-plane.sh")],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    return Path(out.strip().splitlines()[-1])


def main() -> int:
    bins = bin_dir()
    workdir = Path(tempfile.mkdtemp(prefix="k8sh-smoke-"))
    print(f"binaries: {bins}\nworkdir:  {workdir}")
    t0 = time.monotonic()
    with ControlPlane(bins, workdir) as cp:
        print(f"ready in {time.monotonic() - t0:.1f}s: {cp!r}")
        check(cp.version == "v1.36.3", f"version is v1.36.3 (got {cp.version})")

        admin = client.CoreV1Api(config.new_client_from_config(str(cp.admin_kubeconfig)))
        scanner = client.CoreV1Api(config.new_client_from_config(str(cp.scanner_kubeconfig)))

        label = {"pod-security.kubernetes.io/enforce": "restricted"}
        for name, labels in (("smoke-restricted", label), ("smoke-open", None)):
            admin.create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
            )

        try:
            admin.create_namespaced_pod("smoke-restricted", privileged_pod("priv"))
            check(False, "privileged pod rejected in enforce=restricted namespace (was created)")
        except ApiException as e:
            check(
                e.status == 403 and "violates PodSecurity" in (e.body or ""),
                f"privileged pod rejected in enforce=restricted namespace "
                f"({e.status}: {json.loads(e.body).get('message', '')[:90]}...)",
            )

        try:
            pod = admin.create_namespaced_pod("smoke-open", privileged_pod("priv"))
            check(
                pod.spec.containers[0].security_context.privileged is True,
                "privileged pod created in unlabelled namespace",
            )
        except ApiException as e:
            check(False, f"privileged pod created in unlabelled namespace ({e.status}: {e.body})")

        try:
            scanner.list_namespaced_pod("smoke-open")
            check(False, f"{SCANNER_USER} gets 403 listing pods (list succeeded)")
        except ApiException as e:
            check(e.status == 403, f"{SCANNER_USER} gets 403 listing pods (got {e.status})")

        lines = cp.audit_log.read_text().splitlines()
        events = [json.loads(line) for line in lines]
        denied = [
            ev
            for ev in events
            if ev["user"]["username"] == SCANNER_USER
            and ev.get("responseStatus", {}).get("code") == 403
        ]
        check(all(ev["level"] == "Metadata" for ev in events), "audit events at Metadata level")
        check(bool(denied), f"audit log records the scanner's 403 ({len(denied)} event(s))")
        print(f"audit log: {len(lines)} lines ({cp.audit_log})")

    if FAILURES:
        print(f"FAILED: {len(FAILURES)} check(s); logs kept in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
