"""Shared fixtures: real inputs made here (a face photo from scikit-image, speech from espeak-ng)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from espeak_speech import espeak
from reference_folder import SHARED, candidates



@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The reference folder, ``../shared`` (FOMM spec and fixtures; see tests/reference_folder.py)."""
    if not SHARED.exists():
        pytest.fail(f"reference folder missing: looked in {', '.join(map(str, candidates()))}")
    return SHARED


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A real face photo, ``(512, 512, 3)`` uint8 RGB."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def face_png(astronaut, tmp_path_factory) -> Path:
    """The astronaut saved as ``astronaut.png``."""
    from PIL import Image

    path = tmp_path_factory.mktemp("uploads") / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """About two seconds of real English speech (espeak-ng), 22.05 kHz mono wav."""
    return espeak("Hello there, this is a talking head.", tmp_path_factory.mktemp("speech") / "speech.wav")


#: Keypoints of the tiny learned pipeline.
TINY_LEARNED_NUM_KP = 10


@pytest.fixture(scope="session")
def tiny_learned_dir(tmp_path_factory) -> Path:
    """A saved learned pipeline folder (``save_pretrained``): tiny random-weight FOMM and audio2kp models,
    :data:`TINY_LEARNED_NUM_KP` keypoints, weights perturbed off their initial values."""
    import sys

    import torch

    tests = Path(__file__).resolve().parent
    for helpers in ("fomm_core", "audio2kp"):
        if str(tests / helpers) not in sys.path:
            sys.path.insert(0, str(tests / helpers))
    from a2k_helpers import perturbed, tiny_config as tiny_a2k_config
    from fomm_tiny import perturb, tiny_config as tiny_fomm_config

    from audio2kp.learned_driver import Audio2KPDriver
    from audio2kp.model import Audio2KP
    from fomm_core import FommModel, FommRenderer
    from talking_head.backends import Backend
    from talking_head.pipeline import TalkingHead

    torch.manual_seed(0)
    fomm = FommModel(tiny_fomm_config(num_kp=TINY_LEARNED_NUM_KP))
    perturb(fomm)
    a2k = perturbed(Audio2KP(tiny_a2k_config(num_keypoints=TINY_LEARNED_NUM_KP)))
    folder = tmp_path_factory.mktemp("models") / "tiny-talking-head"
    TalkingHead(Backend("learned", Audio2KPDriver(a2k), FommRenderer(fomm.eval()))).save_pretrained(folder)
    return folder


#: tests the fast tier (plain ``pytest``) leaves out, beside those decorated ``@pytest.mark.slow``
SLOW_TESTS_FILE = Path(__file__).with_name("slow_tests.txt")


def _slow_test_ids() -> list:
    lines = SLOW_TESTS_FILE.read_text().splitlines() if SLOW_TESTS_FILE.exists() else []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def pytest_collection_modifyitems(config, items):
    """Mark the tests listed in ``tests/slow_tests.txt`` slow (the fast tier deselects ``slow``).

    A listed id that matches no test is an error when the whole suite is collected, so a renamed test
    cannot drop out of the list unnoticed and slow the fast tier down.
    """
    listed = _slow_test_ids()
    used = set()
    for item in items:
        for entry in listed:
            if item.nodeid == entry or item.nodeid.startswith(entry + "::"):
                item.add_marker(pytest.mark.slow)
                used.add(entry)
    tests_dir = Path(__file__).resolve().parent
    whole_suite = all(Path(config.rootpath, arg).resolve() == tests_dir for arg in config.args)
    stale = [entry for entry in listed if entry not in used]
    if whole_suite and stale:
        raise pytest.UsageError(f"{SLOW_TESTS_FILE}: no such test: {', '.join(stale)}")
