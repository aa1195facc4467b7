"""The layout's import rules (pyproject ``[tool.importlinter]``, design section 2): the Dagster layer on top, the
domain plain. A wrong-way import fails here, so `make test` and CI catch it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_imports_run_one_way():
    cli = Path(sys.executable).parent / "lint-imports"
    assert cli.exists(), "import-linter is a dev dependency: pip install -e '.[dev]'"
    run = subprocess.run([str(cli), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


@pytest.mark.parametrize("module, wrong_import", [
    ("radiomap_assets/domain/grid.py", "from radiomap_assets.assets import model as _wrong_way"),  # domain to Dagster
    ("radiomap_assets/assets/floors.py", "from radiomap_assets.assets import baselines as _wrong_way"),
])
def test_a_wrong_way_import_is_caught(tmp_path, module, wrong_import):
    """The contracts bite: a domain module that imports the Dagster layer, or an asset module that imports another
    one, breaks them (checked on a copy)."""
    import shutil
    for name in ("radiomap_assets", "models", "resources"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bad = tmp_path / module
    bad.write_text(bad.read_text() + f"\n{wrong_import}  # noqa\n")
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


def test_every_model_size_comes_from_the_profiles_family_section():
    """One Profile holds every size, with a section per family: the beam-map model's config is the section's sizes
    on top of ModelConfig's defaults (the default profile's), and the assets get the profile as a resource."""

    from models.beam_map.config import ModelConfig, model_config
    from radiomap_assets.profiles import get_profile
    from resources import RunProfile, SionnaScene

    def config_of(name):
        section = get_profile(name).beam_map
        return model_config(80, section.model_overrides(), section.loss_weights)

    assert config_of("default") == ModelConfig(num_entries=80)
    smoke, paper = config_of("smoke"), config_of("paper")
    assert (smoke.latent_dim, smoke.rnn_widths, smoke.max_steps, smoke.diffusion_steps) == (32, (32, 40, 48), 300, 50)
    assert (paper.lambda_c, paper.lambda_t, paper.lambda_d) == (0.01, 1.0, 50.0)  # the paper's outdoor weights
    assert paper.max_steps == 20000 and paper.seq_len == 128
    with pytest.raises(ValueError, match="unknown ModelConfig field"):
        model_config(80, {"latent_dimension": 3})
    scene = SionnaScene(run_profile=RunProfile(name="smoke"))
    assert scene.spec == get_profile("smoke").scene and scene.model_grid().resolution_m == 5.0
    with pytest.raises(ValueError, match="not one of"):
        RunProfile(name="huge").get()
