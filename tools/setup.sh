#!/usr/bin/env bash
# Idempotent setup for a machine without ROS (README.md, "Which install does what"):
#   1. a project-local venv (.venv) with the pinned ROS 2 Kilted wheels, torch, gymnasium...
#   2. a colcon build of td3_driving (+ carla_msgs / tf2_msgs where none is installed)
#      over that pip underlay, with the include-path fix in cmake/pip_underlay_fix.cmake.
# Each step is skipped when its inputs did not change, so a re-run takes seconds.
# `tools/setup.sh --venv-only` stops after step 1 (what `make check` needs).
# Nothing is written outside the repository; no root, no symlinks outside it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON_BIN="${PYTHON:-python3}"
cd "$ROOT"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

check_python() {
  command -v "$PYTHON_BIN" >/dev/null 2>&1 \
    || die "'$PYTHON_BIN' not found. Install Python 3.11 (Debian 12: apt-get install python3 python3-venv python3-dev) or set PYTHON=/path/to/python3.11."
  local ver
  ver="$("$PYTHON_BIN" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [ "$ver" = "3.11" ] \
    || die "Python $ver found at $(command -v "$PYTHON_BIN"); the ROS 2 Kilted wheels on PyPI are built for CPython 3.11 only. Install Python 3.11 and run again with PYTHON=/path/to/python3.11."
  "$PYTHON_BIN" -c 'import venv, ensurepip' 2>/dev/null \
    || die "Python's venv/ensurepip modules are missing. Debian/Ubuntu: apt-get install python3.11-venv"
  local inc
  inc="$("$PYTHON_BIN" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  [ -f "$inc/Python.h" ] \
    || die "Python headers not found ($inc/Python.h is missing); building the message packages needs them. Debian/Ubuntu: apt-get install python3.11-dev"
  for tool in cmake make g++; do
    command -v "$tool" >/dev/null 2>&1 \
      || die "'$tool' not found; building the message packages needs it. Debian/Ubuntu: apt-get install cmake make g++"
  done
}

requirements_hash() {
  cat requirements/*.txt setup.py | sha256sum | cut -d' ' -f1
}

setup_venv() {
  local stamp="$VENV/.td3_requirements.sha256" want
  want="$(requirements_hash)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  say "installing pinned packages into .venv (first run: about a minute)"
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r requirements/ros-kilted.txt -r requirements/ml.txt -r requirements/dev.txt \
      >"$VENV/.pip-install.log" 2>&1; then
    tail -n 15 "$VENV/.pip-install.log" >&2
    if grep -qiE "connection|network|resolve|timed out|No matching distribution" "$VENV/.pip-install.log"; then
      die "pip could not download the packages above (no network or no access to PyPI?). Connect this machine to PyPI (or set PIP_INDEX_URL to a mirror) and run again. Full log: .venv/.pip-install.log"
    fi
    die "pip install failed; full log: .venv/.pip-install.log"
  fi
  # The ROS-free core itself, editable, so `import td3_driving.core` works without colcon too.
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT" \
    >>"$VENV/.pip-install.log" 2>&1 || die "pip install -e . failed; see .venv/.pip-install.log"
  echo "$want" >"$stamp"
}

# Packages from interfaces/ are built only where no package of that name is installed.
interface_paths() {
  local pkg prefix found
  for pkg in carla_msgs tf2_msgs; do
    found=""
    IFS=: read -ra prefixes <<<"${AMENT_PREFIX_PATH:-}"
    for prefix in "${prefixes[@]}"; do
      case "$prefix" in "$ROOT/install"*) continue ;; esac
      [ -n "$prefix" ] && [ -f "$prefix/share/$pkg/package.xml" ] && found="$prefix"
    done
    if [ -z "$found" ]; then echo "interfaces/$pkg"; fi
  done
}

build_hash() {
  {
    cat CMakeLists.txt package.xml cmake/* msg/*.msg
    find interfaces -type f | sort | xargs cat
    # New or removed Python files, launch files or configs need a re-install (symlinks).
    find td3_driving launch config -type f ! -name '*.pyc' | sort
    grep -l '^def main(' td3_driving/nodes/*.py 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

build_workspace() {
  local stamp="$ROOT/install/.td3_build.sha256" want
  export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export PATH="$VENV/bin:$PATH"
  export LD_LIBRARY_PATH="$VENV/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  want="$(build_hash)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  local paths
  paths=". $(interface_paths | tr '\n' ' ')"
  say "building with colcon: $paths (first run: about a minute)"
  # shellcheck disable=SC2086
  if ! "$VENV/bin/colcon" --log-base "$ROOT/log" build --symlink-install \
      --build-base "$ROOT/build" --install-base "$ROOT/install" --paths $paths \
      --event-handlers console_cohesion- summary+ status- \
      --cmake-args -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
        "-DPython3_EXECUTABLE=$VENV/bin/python" \
        "-DCMAKE_PROJECT_INCLUDE=$ROOT/cmake/pip_underlay_fix.cmake" \
      >"$ROOT/log/td3-colcon-build.log" 2>&1; then
    tail -n 30 "$ROOT/log/td3-colcon-build.log" >&2
    die "colcon build failed; full log: log/td3-colcon-build.log"
  fi
  echo "$want" >"$stamp"
}

check_python
setup_venv
if [ "${1:-}" = "--venv-only" ]; then
  exit 0
fi
mkdir -p "$ROOT/log"
build_workspace
say "ready: ./env.sh CMD runs a command in this environment"
