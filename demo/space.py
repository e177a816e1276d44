"""Make the folder to push to a Hugging Face Space: ``python -m demo.space OUT_DIR``.

The Space's root gets ``README.md`` (this folder's, with the Space front matter), ``requirements.txt``
(generated from ``pyproject.toml``'s runtime dependencies, see :func:`space_requirements`), ``packages.txt``,
a two-line ``app.py`` that starts :func:`demo.app.main`, the packages (``fomm_core``, ``audio2kp``,
``talking_head``, ``demo``) and the bundled ``examples/``. Then ``git push`` that folder to the Space.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - declared as tomli for Python 3.10 in pyproject.toml
    import tomli as tomllib

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PACKAGES = ("fomm_core", "audio2kp", "talking_head", "demo")
OPTIONAL_FOLDERS = ("examples",)
LAUNCHER = '''"""Hugging Face Space entry point (made by ``python -m demo.space``)."""
from demo.app import main

raise SystemExit(main())
'''
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
PYPROJECT = ROOT / "pyproject.toml"
#: CPU wheels of torch keep a CPU Space small; a GPU Space drops this line.
CPU_TORCH_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
#: the Space installs this distribution itself, at the README's ``sdk_version``
SDK_DISTRIBUTION = "gradio"


def _distribution_name(requirement: str) -> str:
    """The normalised distribution name of a PEP 508 requirement string (``"Foo_bar>=1"`` -> ``"foo-bar"``)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"{PYPROJECT}: cannot read the requirement {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def sdk_version(readme: Path = HERE / "README.md") -> str:
    """The Gradio version the Space runs: ``sdk_version`` in the front matter of ``demo/README.md``."""
    match = re.search(r"^sdk_version:\s*([^\s]+)\s*$", readme.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{readme}: no sdk_version in the front matter")
    return match.group(1)


def space_requirements(pyproject: Path = PYPROJECT, readme: Path = HERE / "README.md") -> str:
    """``requirements.txt`` for the Space: the project's runtime dependencies, read from ``pyproject.toml``.

    Every entry of ``[project].dependencies`` is copied as written (markers included), except Gradio, which
    is pinned to the README's ``sdk_version`` (the version the Space runs). Extras (``train``, ``test``)
    are left out. The CPU torch index comes first.
    """
    if not pyproject.is_file():
        raise FileNotFoundError(f"{pyproject} is missing: run the Space bundler from a checkout of the project")
    dependencies: List[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    lines = ["# Generated from pyproject.toml by `python -m demo.space`; edit pyproject.toml, not this file.",
             CPU_TORCH_INDEX]
    for requirement in dependencies:
        if _distribution_name(requirement) == SDK_DISTRIBUTION:
            lines.append(f"{SDK_DISTRIBUTION}=={sdk_version(readme)}")
        else:
            lines.append(requirement)
    return "\n".join(lines) + "\n"


def make_space(out_dir: Path) -> Path:
    """Write the Space folder; refuses a non-empty ``out_dir`` so nothing is overwritten by accident."""
    out_dir = Path(out_dir)
    requirements = space_requirements()  # before anything is written: a missing pyproject.toml leaves no folder
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; give a new folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        shutil.copytree(ROOT / name, out_dir / name, ignore=_IGNORE)
    for name in OPTIONAL_FOLDERS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, out_dir / name, ignore=_IGNORE)
        else:
            logger.warning("%s is missing; the Space will have no bundled examples", ROOT / name)
    shutil.copy(HERE / "README.md", out_dir / "README.md")
    (out_dir / "requirements.txt").write_text(requirements)
    shutil.copy(HERE / "packages.txt", out_dir / "packages.txt")
    (out_dir / "app.py").write_text(LAUNCHER)
    return out_dir


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.space", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="new folder to write the Space into")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    make_space(args.out_dir)
    logger.info("Space folder ready: %s (cd there, git init, add the Space as remote, push)", args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
