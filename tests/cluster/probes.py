"""What the cluster test observes, each by a means of its own rather than by the command
under test: objects in MinIO (as root), answers only one backend gives, the Lease over
time, secret values anywhere a pod or a log could show them, what the API server still
lists, and the processes of the bed's network namespace.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse_bed.layout import NODE_IP
from lakehouse_core import names, versions
from lakehouse_core import network as flows

from .conftest import Bed

STORAGE = names.STORAGE_NAMESPACE


# How mc reports MinIO refusing a request: AccessDenied (mc words it "Access Denied" or, for
# a write, "Insufficient permissions"), and a wrong secret key (SignatureDoesNotMatch).
REFUSALS = (
    "Access Denied",
    "Insufficient permissions",
    "InvalidAccessKeyId",
    "does not match the signature you provided",
)


def refusals(output: str) -> int:
    """How many of mc's lines report a refusal."""
    return sum(1 for line in output.splitlines() if any(r in line for r in REFUSALS))


@dataclass(frozen=True)
class McResult:
    """Each step of an `mc` script: its exit status and what it printed."""

    output: str
    status: dict[str, int]


def mc(the: Bed, steps: dict[str, str], user: str, secret: str, name: str) -> McResult:
    """Run `mc` steps in a pod of the cluster with the given credentials (from a Secret);
    each step's exit status is recorded under its label.

    The pod runs in the storage namespace with the provisioning Job's role labels: the
    NetworkPolicies let exactly that role reach MinIO (and DNS) there."""
    # `mc ready` first: it waits until MinIO answers. A new pod's connections are refused
    # until the NetworkPolicy engine has admitted its address (kube-router does so within
    # seconds of the pod's start), and the steps must not run into that window.
    # Each status on a line of its own: mc's progress output ends without a newline.
    script = "mc ready lake >/dev/null 2>&1 ; " + " ; ".join(
        f'{{ {command} ; }} ; printf "\\nSTATUS {label} %s\\n" "$?"'
        for label, command in steps.items()
    )
    the.kubectl("-n", STORAGE, "delete", "secret", f"{name}-creds", "--ignore-not-found")
    the.kubectl(
        "-n", STORAGE, "create", "secret", "generic", f"{name}-creds",
        f"--from-literal=user={user}", f"--from-literal=secret={secret}",
    )  # fmt: skip

    def secret_ref(key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": f"{name}-creds", "key": key}}

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": STORAGE,
            "labels": {**flows.MINIO_PROVISION.selector, "lakehouse.dev/probe": "mc"},
        },
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "mc",
                    "image": versions.MC_IMAGE.ref,
                    "imagePullPolicy": "IfNotPresent",
                    "command": [
                        "/bin/sh",
                        "-c",
                        'printf "%s\\n%s\\n" "$U" "$S" | mc alias set --api S3v4 lake '
                        f"{addresses(the).minio_endpoint()} >/dev/null && {script}",
                    ],
                    "env": [
                        {"name": "HOME", "value": "/tmp"},
                        {"name": "MC_CONFIG_DIR", "value": "/tmp/.mc"},
                        # The CA it trusts (TLS on), as the provisioning Job gives it.
                        {"name": "SSL_CERT_FILE", "value": f"{names.CA_DIR}/ca.crt"},
                        {"name": "U", "valueFrom": secret_ref("user")},
                        {"name": "S", "valueFrom": secret_ref("secret")},
                    ],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    **(
                        {"volumeMounts": [{"name": "ca", "mountPath": names.CA_DIR}]}
                        if the.tls
                        else {}
                    ),
                }
            ],
            **(
                {"volumes": [{"name": "ca", "configMap": {"name": names.CA_BUNDLE}}]}
                if the.tls
                else {}
            ),
        },
    }
    the.kubectl("-n", STORAGE, "delete", "pod", name, "--ignore-not-found")
    manifest = the.lay.config / f"{name}.json"
    manifest.write_text(json.dumps(pod))
    the.kubectl("apply", "-f", str(manifest))
    deadline = time.monotonic() + 180
    phase = ""
    while time.monotonic() < deadline and phase not in ("Succeeded", "Failed"):
        time.sleep(2)
        phase = the.kubectl("-n", STORAGE, "get", "pod", name, "-o", "jsonpath={.status.phase}")
    out = the.kubectl("-n", STORAGE, "logs", name)
    the.kubectl("-n", STORAGE, "delete", "pod", name, "--wait=false")
    the.kubectl("-n", STORAGE, "delete", "secret", f"{name}-creds")
    status = {m[0]: int(m[1]) for m in re.findall(r"^STATUS (\S+) (\d+)$", out, re.M)}
    assert set(status) == set(steps), f"mc pod {name} ({phase}) did not run every step:\n{out}"
    return McResult(out, status)


def addresses(the: Bed) -> names.ClusterAddresses:
    """The dev stack's in-cluster addresses, as this run of the bed deploys it."""
    return names.ClusterAddresses(minio_tls=the.tls)


def ca_pem(the: Bed) -> str:
    """The CA the stack's consumers trust (TLS on), from its ConfigMap."""
    return str(
        the.kubectl_json("-n", STORAGE, "get", "configmap", names.CA_BUNDLE)["data"]["ca.crt"]
    )


def root_has(the: Bed, keys: list[str], name: str) -> dict[str, bool]:
    """Which of the bucket's ``keys`` exist, asked as MinIO's root user (`mc stat`)."""
    steps = {f"k{i}": f"mc stat lake/lakehouse/{key} >/dev/null 2>&1" for i, key in enumerate(keys)}
    result = mc(the, steps, names.MINIO_ROOT_USER, the.secrets["minioRootPassword"], name)
    return {key: result.status[f"k{i}"] == 0 for i, key in enumerate(keys)}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def http(the: Bed, url: str, headers: dict[str, str] | None = None) -> Answer:
    """One HTTP request from inside the bed (its /etc/hosts names the ingress hosts)."""
    code = (
        "import json, sys, urllib.request, urllib.error\n"
        "req = urllib.request.Request(sys.argv[1], headers=json.loads(sys.argv[2]))\n"
        "try:\n"
        "    r = urllib.request.urlopen(req, timeout=15)\n"
        "except urllib.error.HTTPError as e:\n"
        "    r = e\n"
        "print(json.dumps({'status': r.status, 'headers': dict(r.headers.items()),"
        " 'body': r.read().decode(errors='replace')}))\n"
    )
    import sys

    out = the.run(sys.executable, "-c", code, url, json.dumps(headers or {}))
    data = json.loads(out.strip().splitlines()[-1])
    return Answer(
        int(data["status"]), {k.lower(): v for k, v in data["headers"].items()}, data["body"]
    )


def flight_handshake(the: Bed, endpoint: str, user: str, password: str) -> str:
    """An Arrow Flight basic-auth handshake through the ingress: the answer's header and
    scheme (``authorization Bearer``), with a non-empty token."""
    import sys

    code = (
        "import sys\n"
        "from pyarrow import flight\n"
        "client = flight.FlightClient(sys.argv[1])\n"
        "key, value = client.authenticate_basic_token(sys.argv[2], sys.argv[3])\n"
        "scheme, _, token = value.decode().partition(' ')\n"
        "print(key.decode(), scheme, len(token))\n"
    )
    out = the.run(sys.executable, "-c", code, endpoint, user, password).strip().splitlines()[-1]
    key, scheme, length = out.split()
    return f"{key} {scheme}" if int(length) > 0 else f"{key} {scheme} (empty token)"


@dataclass
class LeaseWatch:
    """The pipeline Lease's holder, sampled every second while something runs."""

    the: Bed
    namespace: str
    seen: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(1):
            out = self.the.kubectl(
                "-n", self.namespace, "get", "lease", names.PIPELINE_LEASE,
                "-o", "jsonpath={.spec.holderIdentity}", check=False,
            )  # fmt: skip
            holder = "" if "NotFound" in out else out.strip()
            if not self.seen or self.seen[-1][1] != holder:
                self.seen.append((round(time.monotonic() - started, 1), holder))

    def __enter__(self) -> LeaseWatch:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def holders(self) -> list[str]:
        return [holder for _, holder in self.seen]


def secret_hits(the: Bed, values: dict[str, str]) -> list[str]:
    """Where any of the secret ``values`` shows outside a Secret: every pod spec and every
    container log (previous ones too) in each lakehouse namespace, every ConfigMap, Job and
    SparkApplication there."""
    hits: list[str] = []
    namespaces = [
        n["metadata"]["name"]
        for n in the.kubectl_json("get", "namespaces")["items"]
        if n["metadata"]["name"].startswith("lakehouse")
    ]
    for namespace in namespaces:
        for kind in (
            "pods",
            "configmaps",
            "jobs",
            "cronjobs",
            "sparkapplications",
            "scheduledsparkapplications",
        ):
            text = the.kubectl("-n", namespace, "get", kind, "-o", "json", check=False)
            hits += [f"{namespace} {kind}: {key}" for key, value in values.items() if value in text]
        for pod in the.kubectl_json("-n", namespace, "get", "pods")["items"]:
            for container in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
                for previous in ("false", "true"):
                    log = the.kubectl(
                        "-n", namespace, "logs", pod["metadata"]["name"], "-c", container["name"],
                        f"--previous={previous}", check=False,
                    )  # fmt: skip
                    hits += [
                        f"{namespace} log of {pod['metadata']['name']}/{container['name']}: {key}"
                        for key, value in values.items()
                        if value in log
                    ]
    return hits


def lakehouse_objects(the: Bed) -> list[str]:
    """Every object of every listable resource type the API serves (cluster-scoped ones
    too) that belongs to the lakehouse: its part-of label, a lakehouse namespace, or a name
    of the stack's (the charts' objects carry their release names)."""
    types = the.kubectl("api-resources", "--verbs=list", "-o", "name").split()
    marks = ("lakehouse", "spark-operator", "traefik", "sparkoperator.k8s.io", "minio", "dremio")
    found: list[str] = []
    for resource in types:
        # The node is the bed's (named lakehouse-bed), not the stack's.
        if resource in ("events", "events.events.k8s.io", "componentstatuses", "nodes"):
            continue
        out = the.kubectl("get", resource, "-A", "-o", "json", check=False)
        try:
            items = json.loads(out)["items"]
        except (ValueError, KeyError):
            continue
        for item in items:
            meta = item.get("metadata", {})
            labels = meta.get("labels") or {}
            spec_text = json.dumps(item.get("spec", {})) if resource == "persistentvolumes" else ""
            text = " ".join([meta.get("name", ""), meta.get("namespace", "") or "", spec_text])
            if labels.get("app.kubernetes.io/part-of") == names.PART_OF or any(
                mark in text for mark in marks
            ):
                found.append(f"{resource} {meta.get('namespace') or '-'}/{meta.get('name')}")
    return found


def net_namespace_inode(netns_path: Path) -> int:
    return os.stat(netns_path).st_ino


def processes_in_net_namespace(inode: int) -> list[str]:
    """Every process on the machine whose network namespace is the bed's (by its inode)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            link = os.readlink(entry / "ns" / "net")
        except OSError:
            continue
        if link == f"net:[{inode}]":
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
            except OSError:
                command = "?"
            found.append(f"{entry.name}: {command}")
    return found


def alive(pids: set[int], started: dict[int, str]) -> list[int]:
    """Which of ``pids`` still run the same process (pid and start time both match)."""
    still = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[19] == started.get(pid):
            still.append(pid)
    return still


def start_times(pids: set[int]) -> dict[int, str]:
    times = {}
    for pid in pids:
        try:
            times[pid] = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        except OSError:
            continue
    return times


def gold_rows(the: Bed, table: str, out: Path) -> list[dict[str, Any]]:
    """Every row of a gold table as Dremio (the double) answers through the ingress."""
    import pyarrow.parquet as pq

    the.lakehouse(
        "query", f"SELECT * FROM lake.lakehouse.deltalake.gold.{table}",
        "--stack", "dev", "--output", str(out),
    )  # fmt: skip
    return list(pq.read_table(out).to_pylist())


PATIENCE = 20  # seconds a network probe keeps trying


def connects(
    the: Bed, namespace: str, labels: dict[str, str], host: str, port: int, name: str
) -> bool:
    """Whether a pod in ``namespace`` with ``labels`` opens a TCP connection to host:port
    (an address, not a name: a pod without an allowed DNS flow resolves nothing)."""
    from lakehouse_core.images import job_image_ref

    # Tried for PATIENCE seconds: a new pod's connections are refused until the engine has
    # admitted its address (seconds after its start), so one refusal proves nothing; a
    # forbidden flow is refused for the whole window.
    code = (
        "import socket, sys, time\n"
        f"deadline = time.monotonic() + {PATIENCE}\n"
        "while True:\n"
        "    try:\n"
        "        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\n"
        "        break\n"
        "    except OSError as err:\n"
        "        if time.monotonic() > deadline:\n"
        "            print('refused:', err); sys.exit(1)\n"
        "        time.sleep(1)\n"
        "print('connected')\n"
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, "lakehouse.dev/probe": "net"},
        },
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": names.SPARK_UID,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "probe",
                "image": job_image_ref(),
                "imagePullPolicy": "IfNotPresent",
                "command": ["python3", "-c", code, host, str(port)],
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }  # fmt: skip
    the.kubectl("-n", namespace, "delete", "pod", name, "--ignore-not-found")
    manifest = the.lay.config / f"{namespace}-{name}.json"
    manifest.write_text(json.dumps(pod))
    the.kubectl("apply", "-f", str(manifest))
    deadline, phase = time.monotonic() + 120, ""
    while time.monotonic() < deadline and phase not in ("Succeeded", "Failed"):
        time.sleep(2)
        phase = the.kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}")
    out = the.kubectl("-n", namespace, "logs", name, check=False)
    the.kubectl("-n", namespace, "delete", "pod", name, "--wait=false")
    assert phase in ("Succeeded", "Failed"), f"probe {namespace}/{name} never ran: {phase}"
    assert ("connected" in out) == (phase == "Succeeded"), out
    return phase == "Succeeded"


def service_ip(the: Bed, namespace: str, service: str) -> str:
    return the.kubectl("-n", namespace, "get", "svc", service, "-o", "jsonpath={.spec.clusterIP}")


def pod_ip(the: Bed, namespace: str, pod: str) -> str:
    return the.kubectl("-n", namespace, "get", "pod", pod, "-o", "jsonpath={.status.podIP}")


def tls_issuer(the: Bed, host: str, port: int, ca_file: Path | None) -> str:
    """The issuer's common name of the certificate ``host:port`` presents, verified
    against ``ca_file`` (or the system's CAs when None): an error text when it fails."""
    import sys

    code = (
        "import socket, ssl, sys\n"
        "ctx = ssl.create_default_context(cafile=sys.argv[3] or None)\n"
        "try:\n"
        "    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as s:\n"
        "        with ctx.wrap_socket(s, server_hostname=sys.argv[1]) as t:\n"
        "            issuer = dict(x[0] for x in t.getpeercert()['issuer'])\n"
        "            print('issuer:', issuer['commonName'])\n"
        "except (ssl.SSLError, OSError) as err:\n"
        "    print('refused:', type(err).__name__)\n"
    )
    out = the.run(sys.executable, "-c", code, host, str(port), str(ca_file or ""))
    return out.strip().splitlines()[-1]


@dataclass
class LiveUiWatch:
    """While the pipeline runs: each RUNNING application's live UI, asked through the
    ingress by its host (``<application>.<spark_ui domain>``, a Host header: the bed's
    /etc/hosts cannot list a wildcard). Records the applications whose UI answered with
    their own id."""

    the: Bed
    namespace: str
    domain: str
    answered: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(3):
            apps = self.the.kubectl_json("-n", self.namespace, "get", "sparkapplications")
            for app in apps["items"]:
                name = app["metadata"]["name"]
                status = app.get("status", {})
                if (
                    name in self.answered
                    or status.get("applicationState", {}).get("state") != "RUNNING"
                ):
                    continue
                try:
                    answer = http(
                        self.the,
                        f"http://{NODE_IP}/api/v1/applications",
                        {"Host": f"{name}.{self.domain}"},
                    )
                except (AssertionError, ValueError):
                    continue
                app_id = status.get("sparkApplicationId", "")
                if answer.status == 200 and app_id and app_id in answer.body:
                    self.answered[name] = app_id

    def __enter__(self) -> LiveUiWatch:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def prometheus(the: Bed, path: str, **params: str) -> Any:
    """The bed's Prometheus API through the ingress (prometheus.localhost); its data."""
    from urllib.parse import urlencode

    answer = http(the, f"http://prometheus.localhost/api/v1/{path}?{urlencode(params)}")
    assert answer.status == 200, answer
    body = json.loads(answer.body)
    assert body["status"] == "success", body
    return body["data"]


def series_over(the: Bed, expr: str, seconds: float, step: int = 30) -> int:
    """How many series ``expr`` returns over the last ``seconds`` (a panel's time range)."""
    end = time.time()
    data = prometheus(
        the,
        "query_range",
        query=expr,
        start=f"{end - seconds:.0f}",
        end=f"{end:.0f}",
        step=str(step),
    )
    return len(data["result"])


def history_applications(the: Bed) -> list[dict[str, Any]]:
    answer = http(the, "http://spark-history.localhost/api/v1/applications")
    assert answer.status == 200, answer
    return list(json.loads(answer.body))
