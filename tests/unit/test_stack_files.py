"""One reader of the stack files: every path (``lakehouse up``, ``render``, ``status``, the
Pulumi program itself) accepts and refuses a stack file alike, and a mistake in it ends in
one ``error:`` line that names the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
from typer.testing import CliRunner, Result

from lakehouse.cli.app import app
from lakehouse_core import stack_file
from lakehouse_core.paths import REPO_ROOT
from lakehouse_core.stack_config import ConfigError
from lakehouse_core.stack_file import read

runner = CliRunner()

TYPO = """\
config:
  lakehouse:environment: dev
  lakehouse:kubeContext: kind-lakehouse
  lakehouse:objectstore:
    replicas: 4
"""


def one_error(result: Result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    assert result.output.count("error: ") == 1, result.output
    assert "hint: " in result.output and "Traceback" not in result.output, result.output
    text = " ".join(result.output.split())
    squeezed = "".join(text.split())  # rich wraps long lines wherever it likes
    for fragment in fragments:
        assert "".join(fragment.split()) in squeezed, text
    return text


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stack folder of the user's own, named by $LAKEHOUSE_STACK_DIR."""
    (tmp_path / "Pulumi.yaml").write_text((REPO_ROOT / "Pulumi.yaml").read_text())
    monkeypatch.setenv("LAKEHOUSE_STACK_DIR", str(tmp_path))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "not-used-before-the-check")
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [["render", "--out", "OUT"], ["up"], ["preview"], ["destroy", "--yes"], ["status"]],
)
def test_a_top_level_typo_stops_every_command_with_the_file_and_line(
    stack_dir: Path, command: list[str], tmp_path: Path
) -> None:
    (stack_dir / "Pulumi.dev.yaml").write_text(TYPO)
    out = tmp_path / "out"
    argv = [str(out) if word == "OUT" else word for word in command]
    result = runner.invoke(app, [*argv, "--stack", "dev"])
    one_error(
        result, f"{stack_dir}/Pulumi.dev.yaml:4:", "lakehouse:objectstore: unknown config key"
    )
    assert not out.exists()  # render wrote nothing


def test_the_pulumi_program_refuses_the_same_typo_before_declaring_anything() -> None:
    declared: list[str] = []

    class Recorder(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            declared.append(args.name)
            return args.name, dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
            return {}, None

    pulumi.runtime.set_all_config(
        {"lakehouse:environment": "dev", "lakehouse:objectstore": '{"replicas": 4}'}
    )
    pulumi.runtime.set_mocks(Recorder(), project="lakehouse", stack="dev", preview=False)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> None:
        from lakehouse_infra.program import deploy

        deploy()

    with pytest.raises(ConfigError, match="lakehouse:objectstore: unknown config key"):
        program()
    assert declared == []


def test_the_pulumi_program_reads_sections_pulumi_passes_as_json() -> None:
    from lakehouse_core.stack_config import parse_config

    cfg = parse_config(
        {
            "lakehouse:environment": "dev",
            "lakehouse:objectStore": '{"replicas": 8, "drivesPerPod": 2}',
            "lakehouse:bucket": "lake",
            "lakehouse:minioRootPassword": "secret values are the credentials' to read",
            "kubernetes:context": "kind-lakehouse",
        }
    )
    assert (cfg.object_store.replicas, cfg.object_store.drives_per_pod, cfg.bucket) == (
        8,
        2,
        "lake",
    )


def test_a_key_in_no_known_namespace_is_refused() -> None:
    from lakehouse_core.stack_config import parse_config

    with pytest.raises(ConfigError, match="lakehose:bucket: unknown config key"):
        parse_config({"lakehouse:environment": "dev", "lakehose:bucket": "x"})


def test_a_yaml_syntax_error_is_one_line_with_its_line(stack_dir: Path) -> None:
    (stack_dir / "Pulumi.dev.yaml").write_text(
        "config:\n  lakehouse:environment: dev\n  lakehouse:bucket: 'unclosed\n"
    )
    one_error(
        runner.invoke(app, ["render", "--stack", "dev"]),
        f"{stack_dir}/Pulumi.dev.yaml:",
        "not valid YAML",
    )


def test_config_written_as_a_list_is_one_line(stack_dir: Path) -> None:
    (stack_dir / "Pulumi.dev.yaml").write_text(
        "config:\n  - lakehouse:environment: dev\n  - lakehouse:bucket: lake\n"
    )
    one_error(
        runner.invoke(app, ["up", "--stack", "dev"]),
        f"{stack_dir}/Pulumi.dev.yaml:1: config must be a mapping of keys to values, not a list",
    )


def test_a_bad_nested_value_names_its_own_line(stack_dir: Path) -> None:
    (stack_dir / "Pulumi.dev.yaml").write_text(
        "config:\n  lakehouse:environment: dev\n  lakehouse:dremio:\n"
        "    executors: 1\n    executorMemoryMib: 1024\n"
    )
    one_error(
        runner.invoke(app, ["render", "--stack", "dev"]),
        f"{stack_dir}/Pulumi.dev.yaml:5: lakehouse:dremio",
        "executorMemoryMib is 1024",
    )


def test_an_empty_stack_folder_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_STACK_DIR", str(tmp_path))
    text = one_error(runner.invoke(app, ["render", "--stack", "dev"]), "no stack 'dev'")
    assert f"{tmp_path} holds no Pulumi.<stack>.yaml" in text
    assert "use one of: " not in text


def test_render_reads_the_stack_folder_and_writes_out_its_stack(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = (
        (REPO_ROOT / "Pulumi.dev.yaml")
        .read_text()
        .replace("lakehouse:bucket: lakehouse", "lakehouse:bucket: my-own-lake")
    )
    (stack_dir / "Pulumi.dev.yaml").write_text(text)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    stale = work / "out" / "dev" / "lakehouse-storage" / "configmap-gone.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("kind: ConfigMap\n")
    result = runner.invoke(app, ["render", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    written = (work / "out" / "dev").rglob("*.yaml")
    assert any("my-own-lake" in p.read_text() for p in written)
    assert not stale.exists()  # a file of an earlier rendering is gone


def test_the_checked_in_stack_files_read_cleanly() -> None:
    for stack in ("dev", "prod"):
        path = REPO_ROOT / f"Pulumi.{stack}.yaml"
        assert read(path.read_text(), str(path)).settings().environment == stack


def test_destroy_refuses_without_yes_when_nobody_can_answer(stack_dir: Path) -> None:
    (stack_dir / "Pulumi.dev.yaml").write_text((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    result = runner.invoke(app, ["destroy", "--stack", "dev"])  # stdin is not a terminal
    one_error(result, "nothing asked for confirmation", "--yes")


def test_two_lakes_named_at_once_are_refused_before_anything_runs() -> None:
    result = runner.invoke(app, ["pipeline", "run", "--local", "--stack", "prod"])
    one_error(result, "--local and --stack name different lakes; give one")


def test_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"lakehouse {version('lakehouse')}"


ISSUER = """\
config:
  lakehouse:environment: dev
  lakehouse:kubeContext: kind-lakehouse
  lakehouse:internalTls:
    enabled: true
    issuer: corp-ca
    caFile: /etc/corp-ca.pem
"""


@pytest.mark.parametrize("installed", [False, True])
def test_an_issuer_without_cert_manager_stops_up_before_pulumi(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, installed: bool
) -> None:
    from lakehouse.ops.cluster import Cluster

    (stack_dir / "Pulumi.dev.yaml").write_text(ISSUER)
    monkeypatch.setattr(Cluster, "__init__", lambda self, context: None)
    monkeypatch.setattr(Cluster, "has_crd", lambda self, name: installed)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi: what stops the run when allowed
    result = runner.invoke(app, ["up", "--stack", "dev"])
    if installed:
        one_error(result, "`pulumi` is not installed")  # past the check, at the next step
    else:
        one_error(
            result,
            "lakehouse:internalTls.issuer names a cert-manager issuer",
            "no certificates.cert-manager.io",
        )


MONITORS = """\
config:
  lakehouse:environment: dev
  lakehouse:kubeContext: kind-lakehouse
  lakehouse:observability:
    prometheusOperator: true
"""


@pytest.mark.parametrize("installed", [False, True])
def test_monitors_without_the_prometheus_operator_stop_up_before_pulumi(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, installed: bool
) -> None:
    from lakehouse.ops.cluster import Cluster

    (stack_dir / "Pulumi.dev.yaml").write_text(MONITORS)
    monkeypatch.setattr(Cluster, "__init__", lambda self, context: None)
    monkeypatch.setattr(
        Cluster, "has_crd", lambda self, name: installed and name.endswith("coreos.com")
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(app, ["up", "--stack", "dev"])
    if installed:
        one_error(result, "`pulumi` is not installed")  # past the check, at the next step
    else:
        one_error(
            result,
            "lakehouse:observability.prometheusOperator is on",
            "no podmonitors.monitoring.coreos.com",
        )


def test_a_problem_points_at_the_deepest_line_the_file_has() -> None:
    found = stack_file.read(
        "config:\n  lakehouse:environment: dev\n  lakehouse:dremio:\n    executors: 1\n", "f.yaml"
    )
    assert found.locate(("lakehouse:dremio", "executors")) == "f.yaml:4: "
    assert found.locate(("lakehouse:dremio", "executorMemoryMib")) == "f.yaml:3: "
    assert found.locate(("lakehouse:bucket",)) == "f.yaml: "


YAML_HINT = (
    "fix the syntax at that line (indentation, a missing ':' or an unclosed quote); "
    "`python -c 'import yaml,sys; yaml.safe_load(open(sys.argv[1]))' FILE` checks it"
)
FILE_HINT = "start the file with `config:` and indent each `lakehouse:<key>: <value>` under it"
CONFIG_HINT = "write each setting as `  lakehouse:<key>: <value>` under `config:` (no leading '- ')"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("config:\n  - a\n",
         "f.yaml:1: config must be a mapping of keys to values, not a list", CONFIG_HINT),
        ("\n\nconfig:\n  - a\n",
         "f.yaml:3: config must be a mapping of keys to values, not a list", CONFIG_HINT),
        ("config: 3\n",
         "f.yaml:1: config must be a mapping of keys to values, not a int", CONFIG_HINT),
        ("- config\n",
         "f.yaml:1: the file must be a mapping with a config: key, not a list", FILE_HINT),
        ("just text\n",
         "f.yaml:1: the file must be a mapping with a config: key, not a str", FILE_HINT),
        ("config:\n  a: 'unclosed\n",
         "f.yaml:3: not valid YAML (found unexpected end of stream)", YAML_HINT),
        ("config: [1\n",
         "f.yaml:2: not valid YAML (expected ',' or ']', but got '<stream end>')", YAML_HINT),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_config_mapping_names_its_line_what_it_found_and_the_fix(
    text: str, message: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        stack_file.read(text, "f.yaml")
    assert (str(refused.value), refused.value.hint) == (message, hint)


def test_a_file_without_settings_reads_as_none_and_keys_as_written() -> None:
    assert stack_file.read("", "f.yaml").config == {}
    assert stack_file.read("other: 1\n", "f.yaml").config == {}
    found = stack_file.read("config:\n  1: x\n  lakehouse:bucket: b\n", "f.yaml")
    assert found.config == {"1": "x", "lakehouse:bucket": "b"}
    assert found.lines == {("1",): 2, ("lakehouse:bucket",): 3}
    assert found.source == "f.yaml"
