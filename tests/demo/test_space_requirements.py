"""The Space's requirements.txt is generated from pyproject.toml and covers every module the demo imports."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

from demo.space import PYPROJECT, make_space, sdk_version, space_requirements, tomllib

REPO = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = {"fomm_core", "audio2kp", "talking_head", "demo", "tests", "reference_folder"}
#: modules interpreters make themselves, shipped by no distribution (Cython's extension runtime)
RUNTIME_MODULES = {"__main__", "cython_runtime"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(text: str) -> List[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith(("#", "-"))]


def covered_distributions(requirements: List[str]) -> Set[str]:
    """The requirements' distributions and, through the installed metadata, everything they depend on."""
    from packaging.requirements import Requirement

    todo = [Requirement(line) for line in requirements]
    seen: Set[str] = set()
    while todo:
        req = todo.pop()
        name = normalise(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo.extend(Requirement(r) for r in (metadata.requires(name) or []))
        except metadata.PackageNotFoundError:
            pass
    return seen


def test_requirements_are_the_declared_dependencies():
    text = space_requirements()
    lines = requirement_lines(text)
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    assert [normalise(re.split(r"[<>=!~;\s\[]", d)[0]) for d in declared] == \
        [normalise(re.split(r"[<>=!~;\s\[]", d)[0]) for d in lines]
    names = {normalise(re.split(r"[<>=!~;\s\[]", d)[0]) for d in lines}
    # every demo render signs its output and finds faces with mediapipe
    assert {"c2pa-python", "cryptography", "mediapipe", "opencv-contrib-python"} <= names
    assert not names & {"opencv-python", "opencv-python-headless"}, "one OpenCV package only"
    assert f"gradio=={sdk_version()}" in lines
    assert "tensorboard" not in names and "pytest" not in names  # extras stay out


def test_space_folder_gets_the_generated_requirements(tmp_path):
    out = make_space(tmp_path / "space")
    assert (out / "requirements.txt").read_text() == space_requirements()
    assert not (REPO / "demo" / "requirements.txt").exists(), "generated only; no hand-kept copy"


@pytest.mark.slow  # a fresh interpreter imports gradio, launches the app and renders a clip
def test_every_module_on_the_render_path_is_covered(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "tests" / "demo" / "render_modules.py"),
                           str(REPO / "examples" / "face.png"), str(REPO / "examples" / "voice.wav"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    providers: Dict[str, List[str]] = metadata.packages_distributions()
    covered = covered_distributions(requirement_lines(space_requirements()))
    third_party = [m for m in modules if m not in sys.stdlib_module_names and m not in PROJECT_PACKAGES
                   and m in providers]
    assert "c2pa" in third_party and "mediapipe" in third_party and "cv2" in third_party
    missing = {m: providers[m] for m in third_party if not {normalise(d) for d in providers[m]} & covered}
    assert not missing, f"imported on the demo's render path but not in the Space's requirements: {missing}"
    unknown = [m for m in modules if m not in sys.stdlib_module_names and m not in PROJECT_PACKAGES
               and m not in providers and not m.startswith("_") and m not in RUNTIME_MODULES]
    assert not unknown, f"modules of no installed distribution: {unknown}"
