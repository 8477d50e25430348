#!/usr/bin/env bash
# The project's environment: .venv + the ROS 2 underlay from its wheels + our colcon build.
#   source env.sh        this shell gets the environment
#   ./env.sh CMD ARGS    runs one command in it
# Run `make setup` (or `make test` / `make train`, which set up first) to create it.
# Safe under `set -u`. On a machine with a real ROS 2 install, use
# `source /opt/ros/$ROS_DISTRO/setup.bash && source install/setup.bash` instead.

_td3_root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ ! -x "$_td3_root/.venv/bin/python" ] || [ ! -d "$_td3_root/install/td3_driving" ]; then
  echo "env.sh: the environment is not built yet; run 'make setup' in $_td3_root first." >&2
  if [ "${BASH_SOURCE[0]}" = "$0" ]; then exit 1; else return 1; fi
fi

_td3_prepend() {  # _td3_prepend VAR DIR: put DIR first in the :-list VAR, once
  local var="$1" dir="$2" cur
  cur="${!var:-}"
  case ":$cur:" in *":$dir:"*) return ;; esac
  export "$var=$dir${cur:+:$cur}"
}

export VIRTUAL_ENV="$_td3_root/.venv"
_td3_prepend PATH "$VIRTUAL_ENV/bin"
_td3_prepend AMENT_PREFIX_PATH "$VIRTUAL_ENV"
_td3_prepend LD_LIBRARY_PATH "$VIRTUAL_ENV/lib"
for _td3_pkg in "$_td3_root"/install/*/; do
  _td3_pkg="${_td3_pkg%/}"
  [ -f "$_td3_pkg/share/$(basename "$_td3_pkg")/package.xml" ] || continue
  _td3_prepend AMENT_PREFIX_PATH "$_td3_pkg"
  _td3_prepend LD_LIBRARY_PATH "$_td3_pkg/lib"
  _td3_prepend PYTHONPATH "$_td3_pkg/lib/python3.11/site-packages"
done
_td3_prepend PATH "$_td3_root/install/td3_driving/lib/td3_driving"
unset _td3_pkg

export ROS_DISTRO="${ROS_DISTRO:-kilted}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
# Security default: DDS discovery stays on this host. Multi-host training is an explicit
# opt-in: export ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET (see README.md, "Many hosts").
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
# Weight-sized messages need a bigger shared-memory segment than Fast DDS's default.
if [ -f "$_td3_root/config/fastdds_profile.xml" ]; then
  export FASTDDS_DEFAULT_PROFILES_FILE="${FASTDDS_DEFAULT_PROFILES_FILE:-$_td3_root/config/fastdds_profile.xml}"
fi
export TD3_DRIVING_ROOT="$_td3_root"
unset _td3_root
unset -f _td3_prepend

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  if [ "$#" -eq 0 ]; then
    echo "usage: ./env.sh CMD [ARGS...]   (or: source env.sh)" >&2
    exit 2
  fi
  exec "$@"
fi
