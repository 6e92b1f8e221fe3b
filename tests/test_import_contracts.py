"""The import contracts of pyproject.toml hold, and a forbidden import breaks `make lint`."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture
def checkout(tmp_path):
    """A copy of the code the contracts cover, with its contracts."""
    for package in ("apps", "aiops"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def lint_imports(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=directory,
        # Wide enough that no contract's name is wrapped in the report.
        env={**os.environ, "PYTHONPATH": str(directory), "COLUMNS": "200"},
        capture_output=True,
        text=True,
    )


def test_the_code_keeps_every_contract(checkout):
    result = lint_imports(checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_gate_importing_the_executor_breaks_its_contract(checkout):
    probe = checkout / "apps" / "gate" / "probe_forbidden.py"
    probe.write_text("import apps.executor.services\n")

    result = lint_imports(checkout)

    assert result.returncode != 0
    assert "The Gatekeeper (apps.gate) imports neither the Executor nor the Verifier BROKEN" in (
        result.stdout
    )
    assert "apps.gate.probe_forbidden -> apps.executor.services" in result.stdout
