"""Packaging: the core installs with numpy + sympy only and imports without torch; extras and
metadata are what the README promises."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    for sep in "<>=!~[; ":
        requirement = requirement.split(sep)[0]
    return requirement.lower()


def test_core_dependencies_are_numpy_and_sympy() -> None:
    assert sorted(_name(r) for r in PROJECT["dependencies"]) == ["numpy", "sympy"]


def test_torch_extra_has_a_tested_upper_bound() -> None:
    (torch_req,) = PROJECT["optional-dependencies"]["torch"]
    assert _name(torch_req) == "torch" and "<" in torch_req
    torch = pytest.importorskip("torch")
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(torch_req.removeprefix("torch"))
    assert spec.contains(torch.__version__.split("+")[0]), (torch.__version__, torch_req)


def test_hep_extra_is_pinned_to_a_wheel_release() -> None:
    hep = {_name(r): r for r in PROJECT["optional-dependencies"]["hep"]}
    assert hep["pythia8mc"] == "pythia8mc==8.317.2"


def test_license_file_matches_the_metadata() -> None:
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "lie_nn developers" in text


def _link_packages(target: Path, names: list[str]) -> None:
    """Make the named installed packages (and their ``.libs``) importable from ``target`` only."""
    import importlib.util

    target.mkdir()
    for name in names:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, name
        location = Path(next(iter(spec.submodule_search_locations)))
        for path in location.parent.glob(f"{name}*"):  # numpy, numpy.libs, numpy-2.x.dist-info
            (target / path.name).symlink_to(path)


@pytest.mark.slow
def test_install_without_extras_imports_without_torch(tmp_path: Path) -> None:
    """Build a wheel, install it without extras into a fresh venv that can see numpy, sympy and
    mpmath but not torch (offline: the dependencies are linked from this environment), import the
    algebra core and lie_nn.testing, and run a Clebsch-Gordan computation."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", "build", "site", "data", "runs", "__pycache__", ".*cache"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(source)], check=True, timeout=300)
    (wheel,) = wheels.glob("lie_nn-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheel)], check=True, timeout=300)
    deps = tmp_path / "deps"
    _link_packages(deps, ["numpy", "sympy", "mpmath"])
    (site / "core_deps.pth").write_text(str(deps) + "\n")
    script = (
        "import sys, importlib.metadata as md\n"
        "import lie_nn, lie_nn.testing\n"
        "from lie_nn import SO3, clebsch_gordan\n"
        "C = clebsch_gordan(SO3(1), SO3(1), SO3(2))\n"
        "lie_nn.testing.assert_intertwines(C, SO3(1), SO3(1), SO3(2))\n"
        "assert 'torch' not in sys.modules, 'the core imported torch'\n"
        "try:\n    import torch\nexcept ImportError:\n    pass\n"
        "else:\n    raise AssertionError('torch is visible: the test is not isolated')\n"
        "reqs = [r for r in md.requires('lie_nn') if 'extra ==' not in r]\n"
        "print(lie_nn.__file__, C.shape, sorted(reqs))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([python, "-c", script], check=True, capture_output=True, text=True, cwd=tmp_path,
                         env=env, timeout=300).stdout
    assert str(site) in out and "(1, 3, 3, 5)" in out
    assert "numpy" in out and "sympy" in out and "torch" not in out.split("(1, 3, 3, 5)")[1]
