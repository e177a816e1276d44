#!/usr/bin/env bash
# Set up everything on a fresh Debian machine: system packages, a virtual environment in .venv with the
# CPU build of torch first (a bare `torch` requirement can pull a multi-GB CUDA build), then the project.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=${WITH_TEST:-0}

apt_packages=(espeak-ng libespeak-ng1)
[ "$WITH_TEST" = 1 ] && apt_packages+=(chromium sox)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
$PIP install torch==2.13.0
# mediapipe 0.10.14 still ships its face models inside the wheel; its jax pin is not needed.
$PIP install --no-deps mediapipe==0.10.14
if [ "$WITH_TEST" = 1 ]; then $PIP install -e ".[test]"; else $PIP install -e .; fi
