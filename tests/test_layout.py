"""The layout's import rules (pyproject ``[tool.importlinter]``, design section 2): the Dagster layer on top, the
domain plain. A wrong-way import fails here, so `make test` and CI catch it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_imports_run_one_way():
    cli = Path(sys.executable).parent / "lint-imports"
    assert cli.exists(), "import-linter is a dev dependency: pip install -e '.[dev]'"
    run = subprocess.run([str(cli), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_a_wrong_way_import_is_caught(tmp_path):
    """The contracts bite: a domain module that imports the Dagster layer breaks them (checked on a copy)."""
    import shutil
    for name in ("radiomap_assets", "models", "resources"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bad = tmp_path / "radiomap_assets" / "domain" / "grid.py"
    bad.write_text(bad.read_text() + "\nfrom radiomap_assets.assets import model as _wrong_way  # noqa\n")
    cli = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run([str(cli), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert run.returncode != 0
    assert "BROKEN" in run.stdout


def test_the_code_passes_the_linter():
    """ruff with the settings of pyproject ``[tool.ruff]`` (pyflakes: unused imports and variables, undefined names;
    pycodestyle at 120 columns)."""
    cli = Path(sys.executable).parent / "ruff"
    assert cli.exists(), "ruff is a dev dependency: pip install -e '.[dev]'"
    run = subprocess.run([str(cli), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
