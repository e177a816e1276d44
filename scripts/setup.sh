#!/usr/bin/env bash
# Set up everything on a fresh Debian machine: system packages, a virtual environment in .venv with the
# torch pin first (a bare `torch` requirement can pull a multi-GB CUDA build), then the project with pip
# alone: every other dependency comes from pyproject.toml, so this proves the declared ones suffice.
# WITH_TEST=1 adds the test and train extras and the system packages only the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=${WITH_TEST:-0}

apt_packages=(espeak-ng libespeak-ng1)
# festival + two voices: the lip-sync bench's second synthesiser (its set is tested too)
[ "$WITH_TEST" = 1 ] && apt_packages+=(chromium sox festival festvox-us-slt-hts festvox-kallpc16k)
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
# A .venv made by an older setup.sh holds opencv-python-headless beside mediapipe; both install the `cv2`
# folder, so remove both and let pip bring back the one OpenCV package mediapipe declares.
if $PIP show opencv-python-headless >/dev/null 2>&1; then
  $PIP uninstall -y opencv-python-headless opencv-contrib-python
fi
if [ "$WITH_TEST" = 1 ]; then $PIP install -e ".[train,test]"; else $PIP install -e .; fi
