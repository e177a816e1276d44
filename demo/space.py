"""Make the folder to push to a Hugging Face Space: ``python -m demo.space OUT_DIR``.

The Space's root gets ``README.md`` (this folder's, with the Space front matter), ``requirements.txt``, ``packages.txt``,
a two-line ``app.py`` that starts :func:`demo.app.main`, the packages (``fomm_core``, ``audio2kp``,
``talking_head``, ``demo``) and the bundled ``examples/``. Then ``git push`` that folder to the Space.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path
from typing import Optional, Sequence

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


def make_space(out_dir: Path) -> Path:
    """Write the Space folder; refuses a non-empty ``out_dir`` so nothing is overwritten by accident."""
    out_dir = Path(out_dir)
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
    shutil.copy(HERE / "requirements.txt", out_dir / "requirements.txt")
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
