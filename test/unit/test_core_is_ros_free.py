"""The ROS-free layers never import rclpy or any message package (docs/architecture.md)."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROS_FREE = [ROOT / "td3_driving" / "core", ROOT / "td3_driving" / "task",
            ROOT / "td3_driving" / "learner",
            ROOT / "td3_driving" / "sim",
            ROOT / "td3_driving" / "apps" / "gym_trainer.py",
            ROOT / "td3_driving" / "apps" / "config.py",
            ROOT / "td3_driving" / "apps" / "gym_tasks.py",
            ROOT / "td3_driving" / "apps" / "parallel_trainer.py",
            ROOT / "td3_driving" / "recording",
            ROOT / "td3_driving" / "apps" / "plots.py", ROOT / "td3_driving" / "apps" / "video.py"]


def _is_ros_module(name: str) -> bool:
    top = name.split(".")[0]
    return top in {"rclpy", "rcl_interfaces", "launch", "launch_ros"} or top.endswith("_msgs") \
        or name.startswith("td3_driving.msg") or name.startswith(("td3_driving.ros",
                                                                  "td3_driving.nodes"))


def _python_files():
    for path in ROS_FREE:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(path.rglob("*.py"))


def test_no_ros_import_statements_in_core_sources():
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}"
                          for n in names if _is_ros_module(n)]
    assert not offenders, "\n".join(offenders)


def test_importing_every_core_module_loads_no_ros_module():
    modules = []
    for path in _python_files():
        rel = path.relative_to(ROOT).with_suffix("")
        modules.append(".".join(p for p in rel.parts if p != "__init__"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rclpy', 'rcl_interfaces') or m.split('.')[0].endswith('_msgs') "
        "or m.startswith('td3_driving.msg'))\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "", f"ROS modules loaded by the core:\n{out.stdout}"
    assert len(modules) >= 2


def test_the_td3_core_imports_nothing_of_the_package_above_it():
    # core/ is the ground floor: task/, sim/, learner/ and the adapters build on it
    offenders = []
    for path in sorted((ROOT / "td3_driving" / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                          if n.startswith("td3_driving.") and not n.startswith("td3_driving.core")]
    assert not offenders, "\n".join(offenders)
