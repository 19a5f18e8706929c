"""A real etcd + kube-apiserver on loopback, for live tests.

    from apiserver import ControlPlane, find_binaries

    bin_dir = find_binaries()            # or the last stdout line of scripts/build-control-plane.sh
    with ControlPlane(bin_dir, tmp_path) as cp:
        cp.server                        # "https://127.0.0.1:<port>"
        cp.admin_kubeconfig              # user k8sh-admin, group system:masters
        cp.scanner_kubeconfig            # user k8sh-scanner, no RBAC grants at all
        cp.audit_log                     # JSON lines, every request at Metadata level
        cp.ca_file, cp.apiserver_args, cp.version

No kube-controller-manager and no scheduler run, so:

* The ``ServiceAccount`` admission plugin is disabled (``--disable-admission-plugins=
  ServiceAccount``): without the controller-manager no ``default`` ServiceAccount is ever created,
  and the plugin would reject every Pod. Pods are therefore stored without an injected
  service-account token volume. Everything else in the default admission chain runs, including
  Pod Security admission.
* Pods stay Pending, namespaces stay Terminating after deletion, and no ``kube-root-ca.crt``
  ConfigMaps appear. Fine for scanning.

Authentication uses client certificates signed by a throw-away CA made with the openssl CLI
(``--client-ca-file``); no token file, so the server's own flags look like a hardened cluster's.
The same CA signs the serving certificate (SANs 127.0.0.1 and localhost); ``ca_file`` is it.

Only the standard library and ``/usr/bin/openssl`` (or ``openssl`` on PATH) are needed.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "KUBE_VERSION",
    "ETCD_VERSION",
    "ControlPlane",
    "ControlPlaneError",
    "cache_bin_dir",
    "find_binaries",
]

KUBE_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
BINARIES = ("kube-apiserver", "etcd")

ADMIN_USER = "k8sh-admin"
ADMIN_GROUPS = ("system:masters",)
SCANNER_USER = "k8sh-scanner"

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
# One event per request (at ResponseComplete, plus ResponseStarted for watches), not two.
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
"""


class ControlPlaneError(RuntimeError):
    """The control plane could not be started (message includes the tail of the logs)."""


# ---------------------------------------------------------------------------------------------
# Finding the binaries
# ---------------------------------------------------------------------------------------------


def cache_bin_dir() -> Path:
    """Where scripts/build-control-plane.sh puts the binaries."""
    root = os.environ.get("K8SH_CACHE") or str(Path.home() / ".cache" / "pytest-k8shardening")
    return Path(root) / "control-plane" / KUBE_VERSION


def _has_both(directory: Path) -> bool:
    return all(
        (directory / name).is_file() and os.access(directory / name, os.X_OK) for name in BINARIES
    )


def find_binaries() -> Path | None:
    """The directory holding both kube-apiserver and etcd, or None.

    Looks at $KUBEBUILDER_ASSETS, then the build script's cache dir, then each $PATH entry.
    """
    candidates: list[Path] = []
    if os.environ.get("KUBEBUILDER_ASSETS"):
        candidates.append(Path(os.environ["KUBEBUILDER_ASSETS"]))
    candidates.append(cache_bin_dir())
    candidates.extend(Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p)
    for directory in candidates:
        if _has_both(directory):
            return directory.resolve()
    return None


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _openssl() -> str:
    for candidate in ("/usr/bin/openssl", shutil.which("openssl")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ControlPlaneError("the openssl CLI is needed to make test certificates; not found")


def _run(cmd: Sequence[str | os.PathLike[str]], cwd: Path) -> None:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ControlPlaneError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr}"
        )


def _yaml_str(value: str | os.PathLike[str]) -> str:
    # A JSON string is a valid YAML flow scalar: quotes and escapes everything that matters.
    return json.dumps(str(value))


def _pdeathsig_preexec() -> None:
    """In the child: die with the parent (Linux), so nothing outlives a killed test run.

    SIGKILL, not SIGTERM: all state is throw-away, and a kube-apiserver whose etcd got SIGTERM
    at the same moment spends a long time in graceful shutdown retrying etcd writes.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:  # noqa: BLE001 - best effort, non-Linux
        pass


# Every process any ControlPlane started and has not yet reaped; killed at interpreter exit.
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def _stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is None:
        try:
            proc.terminate()
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    with _LIVE_LOCK:
        _LIVE.discard(proc)


@atexit.register
def _kill_leftovers() -> None:
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        _stop_process(proc, timeout=5)


# ---------------------------------------------------------------------------------------------
# The control plane
# ---------------------------------------------------------------------------------------------


class ControlPlane:
    """etcd + kube-apiserver on 127.0.0.1, as a context manager.

    Args:
        bin_dir: directory with ``kube-apiserver`` and ``etcd`` (see :func:`find_binaries`).
        workdir: directory for certificates, kubeconfigs, logs, etcd data and the audit log;
            created if missing. ``None`` means a temporary directory, removed on exit.
        extra_apiserver_args: extra or overriding kube-apiserver flags, as a mapping
            ``{"--flag": "value"}`` or a sequence of ``"--flag=value"``; a flag given here
            replaces the default one of the same name.
        startup_timeout: seconds to wait for etcd health and then for ``/readyz``.
        stop_timeout: seconds to wait after SIGTERM before SIGKILL, per process.

    Attributes (valid inside the ``with`` block):
        server, admin_kubeconfig, scanner_kubeconfig, audit_log, ca_file, apiserver_args,
        version, workdir, etcd_url, apiserver_log, etcd_log.
    """

    def __init__(
        self,
        bin_dir: str | os.PathLike[str],
        workdir: str | os.PathLike[str] | None = None,
        *,
        extra_apiserver_args: Mapping[str, str] | Sequence[str] | None = None,
        startup_timeout: float = 90.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.bin_dir = Path(bin_dir)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path()
        self._extra_args = extra_apiserver_args
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout

        self.server: str = ""
        self.etcd_url: str = ""
        self.admin_kubeconfig: Path = Path()
        self.scanner_kubeconfig: Path = Path()
        self.audit_log: Path = Path()
        self.audit_policy: Path = Path()
        self.ca_file: Path = Path()
        self.apiserver_args: list[str] = []
        self.etcd_args: list[str] = []
        self.version: str = ""
        self.apiserver_log: Path = Path()
        self.etcd_log: Path = Path()

        self._etcd: subprocess.Popen[bytes] | None = None
        self._apiserver: subprocess.Popen[bytes] | None = None
        self._admin_cert: tuple[Path, Path] | None = None

    # -- context manager ------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start etcd and kube-apiserver and wait until /readyz answers 200."""
        for name in BINARIES:
            if not (self.bin_dir / name).is_file():
                raise ControlPlaneError(
                    f"{self.bin_dir / name} is missing; run scripts/build-control-plane.sh"
                )
        if self._own_workdir:
            self.workdir = Path(tempfile.mkdtemp(prefix="k8sh-controlplane-"))
        self.workdir = self.workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._make_pki()
            self._start_etcd()
            self._start_apiserver()
            self._write_kubeconfigs()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop kube-apiserver, then etcd (SIGTERM, SIGKILL after ``stop_timeout``)."""
        for attr in ("_apiserver", "_etcd"):
            proc = getattr(self, attr)
            if proc is not None:
                _stop_process(proc, self.stop_timeout)
                setattr(self, attr, None)
        if self._own_workdir and self.workdir != Path() and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- processes --------------------------------------------------------------------------

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        in_main_thread = threading.current_thread() is threading.main_thread()
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C in the terminal reaches Python (which then stops the
                # children in order), not the children directly.
                start_new_session=True,
                # PDEATHSIG follows the *thread* that forked; only safe from the main thread.
                preexec_fn=_pdeathsig_preexec if in_main_thread else None,
            )
        with _LIVE_LOCK:
            _LIVE.add(proc)
        return proc

    def _failure(self, what: str, log: Path) -> ControlPlaneError:
        return ControlPlaneError(f"{what}\n--- last lines of {log} ---\n{_tail(log)}")

    def _start_etcd(self, attempts: int = 3) -> None:
        self.etcd_log = self.workdir / "etcd.log"
        for attempt in range(1, attempts + 1):
            client, peer = _free_port(), _free_port()
            self.etcd_url = f"http://127.0.0.1:{client}"
            data_dir = self.workdir / "etcd-data"
            shutil.rmtree(data_dir, ignore_errors=True)
            args = [
                str(self.bin_dir / "etcd"),
                "--name=k8sh",
                f"--data-dir={data_dir}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=k8sh=http://127.0.0.1:{peer}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ]
            self.etcd_args = args[1:]
            self._etcd = self._spawn(args, self.etcd_log)
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline:
                if self._etcd.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2) as resp:
                        if json.load(resp).get("health") == "true":
                            return
                except (OSError, ValueError):
                    pass
                time.sleep(0.2)
            code = self._etcd.poll()
            exited = code is not None
            _stop_process(self._etcd, self.stop_timeout)
            self._etcd = None
            if exited and "address already in use" in _tail(self.etcd_log) and attempt < attempts:
                continue
            raise self._failure(
                f"etcd exited during startup (exit code {code})"
                if exited
                else f"etcd not healthy within {self.startup_timeout:.0f}s",
                self.etcd_log,
            )

    def _default_apiserver_args(self, port: int) -> dict[str, str]:
        pki = self.workdir / "pki"
        return {
            "--etcd-servers": self.etcd_url,
            "--bind-address": "127.0.0.1",
            "--advertise-address": "127.0.0.1",
            "--secure-port": str(port),
            "--cert-dir": str(self.workdir / "apiserver-certs"),
            "--tls-cert-file": str(pki / "apiserver.crt"),
            "--tls-private-key-file": str(pki / "apiserver.key"),
            "--client-ca-file": str(self.ca_file),
            "--service-account-issuer": "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file": str(pki / "sa.pub"),
            "--service-account-signing-key-file": str(pki / "sa.key"),
            "--service-cluster-ip-range": "10.0.0.0/24",
            "--authorization-mode": "Node,RBAC",
            "--allow-privileged": "true",
            # No controller-manager creates the `default` ServiceAccount; see module docstring.
            "--disable-admission-plugins": "ServiceAccount",
            "--audit-policy-file": str(self.audit_policy),
            "--audit-log-path": str(self.audit_log),
            "--audit-log-format": "json",
            "--audit-log-mode": "blocking",
        }

    def _merged_args(self, port: int) -> list[str]:
        flags = self._default_apiserver_args(port)
        extra = self._extra_args or {}
        items = extra.items() if isinstance(extra, Mapping) else (
            tuple(a.split("=", 1)) if "=" in a else (a, "true") for a in extra
        )
        for key, value in items:
            flags["--" + key.lstrip("-")] = str(value)
        return [f"{k}={v}" for k, v in flags.items()]

    def _start_apiserver(self, attempts: int = 3) -> None:
        self.apiserver_log = self.workdir / "kube-apiserver.log"
        self.audit_log = self.workdir / "audit.log"
        self.audit_policy = self.workdir / "audit-policy.yaml"
        self.audit_policy.write_text(AUDIT_POLICY)
        self.audit_log.unlink(missing_ok=True)  # a reused workdir must not mix runs
        assert self._admin_cert is not None
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.load_cert_chain(*map(str, self._admin_cert))
        for attempt in range(1, attempts + 1):
            port = _free_port()
            self.server = f"https://127.0.0.1:{port}"
            args = [str(self.bin_dir / "kube-apiserver"), *self._merged_args(port)]
            self.apiserver_args = args[1:]
            self._apiserver = self._spawn(args, self.apiserver_log)
            deadline = time.monotonic() + self.startup_timeout
            last_error = "no answer yet"
            while time.monotonic() < deadline:
                if self._apiserver.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(
                        f"{self.server}/readyz", context=ctx, timeout=5
                    ) as resp:
                        if resp.status == 200:
                            with urllib.request.urlopen(
                                f"{self.server}/version", context=ctx, timeout=5
                            ) as vresp:
                                self.version = json.load(vresp)["gitVersion"]
                            return
                except urllib.error.HTTPError as e:  # 500 while post-start hooks run
                    last_error = f"HTTP {e.code}: {e.read(2000).decode(errors='replace')}"
                except (OSError, ValueError) as e:
                    last_error = repr(e)
                time.sleep(0.25)
            code = self._apiserver.poll()
            exited = code is not None
            _stop_process(self._apiserver, self.stop_timeout)
            self._apiserver = None
            if (
                exited
                and "address already in use" in _tail(self.apiserver_log)
                and attempt < attempts
            ):
                continue
            raise self._failure(
                f"kube-apiserver exited during startup (exit code {code})"
                if exited
                else f"kube-apiserver /readyz not OK within {self.startup_timeout:.0f}s "
                f"(last: {last_error})",
                self.apiserver_log,
            )

    # -- certificates and kubeconfigs -----------------------------------------------------

    def _make_pki(self) -> None:
        pki = self.workdir / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        openssl = _openssl()
        (pki / "openssl.cnf").write_text(
            "[req]\n"
            "distinguished_name = dn\n"
            "[dn]\n"
            "[ca]\n"
            "basicConstraints = critical,CA:TRUE\n"
            "keyUsage = critical,keyCertSign,cRLSign,digitalSignature\n"
            "subjectKeyIdentifier = hash\n"
            "[server]\n"
            "basicConstraints = critical,CA:FALSE\n"
            "keyUsage = critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage = serverAuth\n"
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n"
            "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
            "[client]\n"
            "basicConstraints = critical,CA:FALSE\n"
            "keyUsage = critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage = clientAuth\n"
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n"
        )
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        cnf = ["-config", "openssl.cnf"]
        _run(
            [openssl, "req", "-x509", "-new", *ec, *cnf, "-extensions", "ca",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
             "-subj", "/CN=k8sh-test-ca"],
            pki,
        )  # fmt: skip
        self.ca_file = pki / "ca.crt"

        def leaf(name: str, subject: str, extensions: str) -> tuple[Path, Path]:
            _run([openssl, "req", "-new", *ec, *cnf, "-keyout", f"{name}.key",
                  "-out", f"{name}.csr", "-subj", subject], pki)  # fmt: skip
            _run([openssl, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt",
                  "-CAkey", "ca.key", "-set_serial", "0x" + secrets.token_hex(16),
                  "-days", "30", "-extfile", "openssl.cnf", "-extensions", extensions,
                  "-out", f"{name}.crt"], pki)  # fmt: skip
            return pki / f"{name}.crt", pki / f"{name}.key"

        leaf("apiserver", "/CN=kube-apiserver", "server")
        groups = "".join(f"/O={g}" for g in ADMIN_GROUPS)
        self._admin_cert = leaf("admin", f"{groups}/CN={ADMIN_USER}", "client")
        leaf("scanner", f"/CN={SCANNER_USER}", "client")
        _run([openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
              "-out", "sa.key"], pki)  # fmt: skip
        _run([openssl, "pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], pki)
        for key in pki.glob("*.key"):
            key.chmod(0o600)

    def _write_kubeconfigs(self) -> None:
        pki = self.workdir / "pki"

        def write(name: str, user: str) -> Path:
            path = self.workdir / f"{name}.kubeconfig"
            path.write_text(
                "apiVersion: v1\n"
                "kind: Config\n"
                "clusters:\n"
                "  - name: k8sh\n"
                "    cluster:\n"
                f"      server: {_yaml_str(self.server)}\n"
                f"      certificate-authority: {_yaml_str(self.ca_file)}\n"
                "users:\n"
                f"  - name: {_yaml_str(user)}\n"
                "    user:\n"
                f"      client-certificate: {_yaml_str(pki / f'{name}.crt')}\n"
                f"      client-key: {_yaml_str(pki / f'{name}.key')}\n"
                "contexts:\n"
                f"  - name: {_yaml_str(name)}\n"
                "    context:\n"
                "      cluster: k8sh\n"
                f"      user: {_yaml_str(user)}\n"
                f"current-context: {_yaml_str(name)}\n"
            )
            path.chmod(0o600)
            return path

        self.admin_kubeconfig = write("admin", ADMIN_USER)
        self.scanner_kubeconfig = write("scanner", SCANNER_USER)

    def __repr__(self) -> str:
        state = "running" if self._apiserver is not None else "stopped"
        return f"<ControlPlane {self.server or '-'} {self.version or ''} {state}>"
