"""The pip wheel holds only ROS-free code, and every module of it imports in a clean venv.

The wheel is built from a copy of setup.py and td3_driving/, installed with --no-deps into a
venv made without the system's or our .venv's site-packages; its dependencies (torch,
gymnasium, ... and what they need, nothing else) are linked in from this interpreter's
installation, so the test needs no network and no second torch download. rclpy, launch and
every *_msgs stay out, and an import hook fails the test if anything asks for them.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
ROS_TOP_LEVEL = ("rclpy", "rcl_interfaces", "launch", "launch_ros", "rosidl_runtime_py")

# Runs inside the clean venv: forbid ROS, import every module of the installed package.
IMPORT_ALL = r"""
import importlib, importlib.abc, json, pkgutil, sys

FORBIDDEN = %r

class Guard(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in FORBIDDEN or top.endswith("_msgs") or name.startswith("td3_driving.msg"):
            raise ImportError(f"ROS module {name} imported by the ROS-free wheel")
        return None

sys.meta_path.insert(0, Guard())
import td3_driving
modules = sorted(m.name for m in pkgutil.walk_packages(td3_driving.__path__, "td3_driving."))
for name in modules:
    importlib.import_module(name)
print(json.dumps({"package": list(td3_driving.__path__), "modules": modules}))
"""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dependency_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions ``requirements`` need, with extras and markers applied."""
    found: dict[str, metadata.Distribution] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        key = _canonical(req.name)
        if key in found:
            continue
        found[key] = dist = metadata.distribution(req.name)
        for text in dist.requires or []:
            sub = Requirement(text)
            extras = req.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub)
    return list(found.values())


def _link_distributions(dists: list[metadata.Distribution], target: Path) -> None:
    """Symlink each distribution's top-level files and folders into ``target``."""
    target.mkdir()
    for dist in dists:
        site = Path(dist.locate_file(""))
        tops = {Path(str(f)).parts[0] for f in dist.files or []}
        for top in sorted(t for t in tops if t != ".." and not t.endswith(".pth")):
            link = target / top
            if not link.exists() and (site / top).exists():
                link.symlink_to(site / top)


def _setup_requirements() -> list[str]:
    """setup.py's install_requires, read from its syntax tree."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    return next(ast.literal_eval(k.value) for node in ast.walk(tree)
                if isinstance(node, ast.Call) for k in node.keywords
                if k.arg == "install_requires")


@pytest.mark.slow
def test_the_wheel_is_ros_free_and_every_module_imports_in_a_clean_venv(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "setup.py", src)
    shutil.copytree(ROOT / "td3_driving", src / "td3_driving",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(src)], check=True, env=env,
                   cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    shipped = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")]
    for layer in ("ros/", "nodes/", "bringup/", "apps/cli.py", "apps/evaluate.py"):
        assert not [n for n in shipped if n.startswith(f"td3_driving/{layer}")], layer

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, env=env)
    deps = tmp_path / "deps"
    _link_distributions(_dependency_closure(_setup_requirements()), deps)
    assert not [p.name for p in deps.iterdir()
                if p.name.split(".")[0] in ROS_TOP_LEVEL or p.name.endswith("_msgs")]
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "td3_driving_deps.pth").write_text(f"{deps}\n")

    out = subprocess.run([str(python), "-c", IMPORT_ALL % (ROS_TOP_LEVEL,)], env=env,
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(p.startswith(str(site)) for p in result["package"]), result["package"]
    expected = {n[:-3].replace("/", ".").removesuffix(".__init__") for n in shipped}
    assert set(result["modules"]) | {"td3_driving"} == expected
    assert "td3_driving.apps.gym_trainer" in result["modules"]
    # the console script of the wheel starts
    help_out = subprocess.run([str(venv / "bin" / "td3-train-gym"), "--help"], env=env,
                              cwd=tmp_path, capture_output=True, text=True)
    assert help_out.returncode == 0 and "--env" in help_out.stdout, help_out.stderr[-2000:]
