"""``lakehouse up|preview|destroy``: the Pulumi program through the Automation API.

The program runs *inline*: the same ``deploy()`` that ``infra/__main__.py`` calls under a
plain ``pulumi up``, with the project and stack settings of Pulumi.yaml and
Pulumi.<stack>.yaml from this checkout. Only the ``pulumi`` CLI is needed, no language
host. State lives in a local file backend by default (``.pulumi-state/`` in the checkout,
or ``$PULUMI_BACKEND_URL``); its secrets are encrypted with ``$PULUMI_CONFIG_PASSPHRASE``,
which must be set: there is no default passphrase.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.ops import tools
from lakehouse_core.errors import LakehouseError
from lakehouse_core.names import PROJECT
from lakehouse_core.paths import REPO_ROOT

if TYPE_CHECKING:
    from lakehouse_core.stack_config import StackConfig

DEFAULT_BACKEND_DIR = REPO_ROOT / ".pulumi-state"


class Action(str, Enum):
    UP = "up"
    PREVIEW = "preview"
    DESTROY = "destroy"
    REFRESH = "refresh"


class DeployError(LakehouseError):
    """Pulumi could not do what was asked; the message ends with its own output."""


def backend_url() -> str:
    explicit = os.environ.get("PULUMI_BACKEND_URL")
    if explicit:
        return explicit
    DEFAULT_BACKEND_DIR.mkdir(exist_ok=True)
    return f"file://{DEFAULT_BACKEND_DIR}"


def require_passphrase() -> dict[str, str]:
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE") is not None:
        return {"PULUMI_CONFIG_PASSPHRASE": os.environ["PULUMI_CONFIG_PASSPHRASE"]}
    passphrase_file = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if passphrase_file and Path(passphrase_file).is_file():
        return {"PULUMI_CONFIG_PASSPHRASE_FILE": passphrase_file}
    raise DeployError(
        "PULUMI_CONFIG_PASSPHRASE is not set: it encrypts the stack's secrets in the local backend",
        hint='choose one and keep it, e.g. `export PULUMI_CONFIG_PASSPHRASE="$(openssl rand '
        '-hex 16)"`: every later up, preview or destroy of this stack needs the same one',
    )


def workspace_env() -> dict[str, str]:
    return {
        "PULUMI_BACKEND_URL": backend_url(),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        **require_passphrase(),
    }


def select_stack(stack: str, cfg: StackConfig | None = None, root: Path | None = None) -> Any:
    """The stack, created in the backend on first use, running the program inline with the
    settings already read from its file (``cfg``; read here when not given)."""
    from pulumi import automation as auto

    from lakehouse.ops.stacks import load_stack_config, stack_dir
    from lakehouse_infra.program import deploy

    tools.require("pulumi")
    root = root or stack_dir()
    settings = cfg or load_stack_config(stack, root)
    options = auto.LocalWorkspaceOptions(work_dir=str(root), env_vars=workspace_env())
    return auto.create_or_select_stack(
        stack_name=stack,
        project_name=PROJECT,
        program=lambda: deploy(settings),
        opts=options,
    )


CERT_MANAGER_CRD = "certificates.cert-manager.io"
PROMETHEUS_OPERATOR_CRD = "podmonitors.monitoring.coreos.com"


def check_cluster_prerequisites(cfg: StackConfig) -> None:
    """What the settings need of the cluster, checked before anything is deployed: a named
    cert-manager issuer needs cert-manager's CRDs, monitors need the Prometheus operator's."""
    from lakehouse.ops.cluster import Cluster
    from lakehouse_core.stack_config import ConfigError

    keys = []
    if cfg.internal_tls_on and cfg.internal_tls.issuer:
        keys.append("internalTls.issuer")
    if cfg.ingress.tls.enabled and cfg.ingress.tls.cluster_issuer:
        keys.append("ingress.tls.clusterIssuer")
    cluster = Cluster(cfg.kube_context) if keys or cfg.monitors_on else None
    if cluster is not None and cfg.monitors_on and not cluster.has_crd(PROMETHEUS_OPERATOR_CRD):
        raise ConfigError(
            "lakehouse:observability.prometheusOperator is on, but the cluster serves no "
            f"{PROMETHEUS_OPERATOR_CRD}: the Prometheus operator is not installed",
            hint="install it (for example the kube-prometheus-stack chart) first, or set "
            "lakehouse:observability.prometheusOperator to false",
        )
    if keys and cluster is not None and not cluster.has_crd(CERT_MANAGER_CRD):
        raise ConfigError(
            f"lakehouse:{' and lakehouse:'.join(keys)} names a cert-manager issuer, but the "
            f"cluster serves no {CERT_MANAGER_CRD}: cert-manager is not installed",
            hint="install cert-manager (https://cert-manager.io/docs/installation/) and its "
            "issuer first, or remove the issuer: the stack then signs with a CA of its own",
        )


def run(
    action: Action, stack: str, log: Callable[[str], None] = print, *, color: bool = False
) -> dict[str, Any]:
    """Run ``action`` on ``stack``; returns the stack outputs (secrets stay masked).

    ``color`` only for a terminal: Pulumi's escape codes would litter logs and error text.
    """
    from pulumi import automation as auto

    from lakehouse.ops.stacks import load_stack_config

    cfg = load_stack_config(stack)  # a bad value stops here, before Pulumi runs
    if action in (Action.UP, Action.PREVIEW):
        check_cluster_prerequisites(cfg)
    target = select_stack(stack, cfg)
    colors = "always" if color else "never"
    try:
        if action is Action.UP:
            target.up(on_output=log, color=colors)
        elif action is Action.PREVIEW:
            target.preview(on_output=log, color=colors)
        elif action is Action.REFRESH:
            target.refresh(on_output=log, color=colors)
        else:
            target.destroy(on_output=log, color=colors)
    except auto.errors.CommandError as err:
        raise DeployError(
            f"pulumi {action.value} of stack {stack} failed:\n{str(err)[-3000:]}",
            hint="the resource named last above is where it stopped; `lakehouse status` "
            "shows what is running",
        ) from None
    return {k: ("[secret]" if v.secret else v.value) for k, v in target.outputs().items()}
