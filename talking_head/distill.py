"""audio2kp training data without any video: ``talking-head distill-audio2kp --fomm M --photos DIR --speech DIR``.

For each (photo, speech clip) pair the FOMM motion bridge (:mod:`talking_head.fomm_bridge`) makes the photo's
face speak the clip through the offline driver and renderer, and FOMM's keypoint detector reads the motion:
the keypoints and Jacobians the fomm backend would animate the photo with, frame by frame. Written as one clip
shard per pair (:mod:`audio2kp.data.shards`, as ``prepare`` writes them from videos: raw keypoints with the head
motion in them; training separates head pose from expression), with the clip's 16 kHz audio and the eye
openness of the driving face (lid gap / eye width of the offline landmarks), so ``train-audio2kp`` learns
audio2kp in that FOMM's keypoint space.

Head motion (``DistillOptions.head_pose``): by default (``"keypoints"``) the driving face is rendered with a
still head and the offline driver's head motion, a similarity in the crop's coordinates, is applied to the
keypoints read from it. Training separates head pose from expression by fitting a similarity per frame; a
detector that does not follow a moving head as one similarity (random or briefly trained weights) turns rendered
head motion into keypoint motion no similarity removes, which the expression stream then has to learn from
audio that does not predict it. ``"rendered"`` renders the head motion into the driving frames instead (the
detector's own response to it).

Pairs: each clip is spoken by ``photos_per_clip`` photos, taken in turn from a seeded shuffle of the photos,
so every photo is used about equally (a photo without a face is skipped and the next one takes its place;
photos are prepared when used, so memory does not grow with their number). Each pair has its own seed (head motion, blinks). A ``.txt`` transcript
beside a clip (same name) is given to the offline driver when its controls take one. A rerun skips pairs whose
shard exists; photos without a face and unreadable clips are skipped and listed in ``OUT/distill_report.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

import numpy as np
import torch

from audio2kp.audio import MODEL_SAMPLE_RATE, load_audio
from audio2kp.controls import AnimationControls
from audio2kp.data.shards import ClipShard, shard_path, write_manifest, write_shard
from audio2kp.offline.keypoint_set import LANDMARK_SET
from fomm_core.atomic import atomic_output
from fomm_core.errors import InputError

logger = logging.getLogger(__name__)

DEFAULT_FPS = 25.0
#: File name endings taken as photos / speech clips.
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
SPEECH_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a")
TRANSCRIPT_SUFFIX = ".txt"
REPORT_NAME = "distill_report.json"
#: Clips shorter than this are skipped (audio2kp trains on windows of a couple of seconds).
DEFAULT_MIN_SECONDS = 1.0
#: Where the driving face's head motion enters: applied to the keypoints as a similarity, or rendered.
HEAD_POSE_KEYPOINTS, HEAD_POSE_RENDERED = "keypoints", "rendered"
HEAD_POSE_MODES = (HEAD_POSE_KEYPOINTS, HEAD_POSE_RENDERED)
#: Mouth-corner-free eye contours of the landmark set: (upper lid, lower lid) groups per eye.
EYES = (("eyelid_right_upper", "eyelid_right_lower"), ("eyelid_left_upper", "eyelid_left_lower"))

PathLike = Union[str, os.PathLike]


@dataclass
class DistillOptions:
    """Settings of a distillation run.

    Attributes:
        fps: frame rate of the keypoints.
        photos_per_clip: how many photos speak each clip.
        seed: fixes the pairing and every pair's head motion and blinks.
        min_seconds: shorter clips are skipped.
        controls: expression / pose scales and blink rate of the offline driver (the seed is set per pair).
        head_pose: ``"keypoints"`` or ``"rendered"``: where the head motion enters (see the module docstring).
    """

    fps: float = DEFAULT_FPS
    photos_per_clip: int = 1
    seed: int = 0
    min_seconds: float = DEFAULT_MIN_SECONDS
    controls: AnimationControls = field(default_factory=AnimationControls)
    head_pose: str = "keypoints"

    def __post_init__(self) -> None:
        if self.head_pose not in HEAD_POSE_MODES:
            raise InputError(f"head pose must be one of {', '.join(HEAD_POSE_MODES)}, got {self.head_pose!r}")


@dataclass
class PairResult:
    """One (photo, clip) pair or one skipped input: ``status`` is prepared / done before / skipped."""

    clip_id: str
    status: str
    reason: str = ""
    num_frames: int = 0


PREPARED, DONE_BEFORE, SKIPPED = "prepared", "done before", "skipped"


@dataclass
class SourcePhoto:
    """A photo prepared once: its face crop at the FOMM resolution, landmarks, FOMM keypoints."""

    name: str
    crop: torch.Tensor  # (1, 3, S, S) in [0, 1]
    landmarks: np.ndarray  # (478, 2) crop pixels
    keypoints: object  # fomm_core.Keypoints, batch 1


def find_files(folder: PathLike, suffixes, what: str) -> List[Path]:
    """Every file under ``folder`` (recursively) with one of ``suffixes``, sorted; hidden files ignored."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder of {what}")
    found = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."))
    if not found:
        raise InputError(f"{root}: no {what} ({', '.join(suffixes)}) found")
    return found


def safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def stable_seed(seed: int, name: str) -> int:
    """A per-pair seed fixed by ``seed`` and ``name`` (the same on every machine and run)."""
    return int(hashlib.sha1(f"{seed}:{name}".encode()).hexdigest()[:8], 16)


def eye_openness(landmark_values: torch.Tensor) -> np.ndarray:
    """``(T,)`` mean over both eyes of (upper-lid centre to lower-lid centre) / eye width, from ``(T, K, 2)``
    landmark keypoints (the offline set); larger = more open, like ``prepare``'s face-mesh measure."""
    v = landmark_values.double()
    ratios = []
    for upper, lower in EYES:
        up, lo = v[:, LANDMARK_SET.group(upper)], v[:, LANDMARK_SET.group(lower)]
        both = torch.cat([up, lo], dim=1)
        width = (both[..., 0].max(dim=1).values - both[..., 0].min(dim=1).values).clamp_min(1e-6)
        ratios.append((up.mean(1) - lo.mean(1)).norm(dim=-1) / width)
    return torch.stack(ratios).mean(0).float().numpy()


def prepare_photo(path: Path, renderer, name: str) -> SourcePhoto:
    """Find the face, crop it at the FOMM resolution as the pipeline does, read its FOMM keypoints.

    Raises:
        InputError: unreadable photo or no face.
    """
    from .faces import crop_for_face, find_face
    from .media import load_image

    photo = load_image(path)
    face = find_face(photo, name=name)
    transform = crop_for_face(photo.shape[1], photo.shape[0], landmarks=face.landmarks, size=renderer.image_size)
    crop = torch.from_numpy(transform.crop(photo)).permute(2, 0, 1)[None].float() / 255.0  # (1, 3, S, S)
    with torch.inference_mode():
        keypoints = renderer.prepare(crop.to(renderer.device)).keypoints
    return SourcePhoto(name, crop, transform.to_crop(face.landmarks), keypoints)


def controls_for(base: AnimationControls, seed: int, transcript: Optional[str]) -> AnimationControls:
    """``base`` with this pair's seed, and the transcript when the controls take one."""
    names = {f.name for f in dataclasses.fields(AnimationControls)}
    changes: Dict[str, object] = {"seed": seed}
    if transcript is not None and "transcript" in names:
        changes["transcript"] = transcript
    return dataclasses.replace(base, **changes)


def read_transcript(clip: Path) -> Optional[str]:
    path = clip.with_suffix(TRANSCRIPT_SUFFIX)
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        logger.warning("%s: unreadable transcript, ignored", path)
        return None
    return text or None


def distill_pair(bridge, photo: SourcePhoto, clip: Path, clip_name: str, transcript: Optional[str],
                 out_dir: Path, clip_id: str, options: DistillOptions) -> PairResult:
    """Write the shard of one (photo, clip) pair (see the module docstring)."""
    audio = load_audio(str(clip), target_rate=MODEL_SAMPLE_RATE)
    if audio.duration < options.min_seconds:
        return PairResult(clip_id, SKIPPED, f"{clip_name}: too short ({audio.duration:.2f} s < {options.min_seconds} s)")
    num_frames = int(np.floor(audio.duration * options.fps + 1e-6))
    seed = stable_seed(options.seed, clip_id)
    controls = controls_for(options.controls, seed, transcript)
    motion = bridge.motion(audio, photo.keypoints, photo.crop, photo.landmarks, options.fps, num_frames, controls,
                           pose_in_keypoints=options.head_pose == HEAD_POSE_KEYPOINTS)
    span = int(round(num_frames * MODEL_SAMPLE_RATE / options.fps))
    speech = np.pad(audio.samples[:span], (0, max(0, span - len(audio.samples))))
    if motion.track.jacobian is None:
        raise InputError(f"{bridge.name}: the FOMM model has no Jacobians (zeroth order); audio2kp needs them")
    extra = {"photo": photo.name, "speech": clip_name, "seed": str(seed), "transcript": "yes" if transcript else "no",
             "head_pose": options.head_pose}
    shard = ClipShard(
        clip_id=clip_id,
        audio=speech.astype(np.float32),
        kp_value=motion.track.value.numpy(),
        kp_jacobian=motion.track.jacobian.numpy(),
        fps=float(options.fps),
        eye_openness=eye_openness(motion.landmarks.value),
        extra=extra,
    )
    write_shard(out_dir, shard)
    return PairResult(clip_id, PREPARED, num_frames=num_frames)


def distill(
    fomm: PathLike,
    photos_dir: PathLike,
    speech_dir: PathLike,
    out_dir: PathLike,
    options: DistillOptions = DistillOptions(),
    fomm_config: Optional[str] = None,
    device: str = "cpu",
    on_result: Optional[Callable[[PairResult], None]] = None,
) -> List[PairResult]:
    """Distil every clip under ``speech_dir`` spoken by photos under ``photos_dir`` into shards in ``out_dir``.

    Raises:
        InputError: missing folders, no photos or clips, no photo with a face, an unreadable FOMM model, an
            output folder that cannot be made, a FOMM whose keypoints do not move.
    """
    from fomm_core import FommRenderer

    from .backends import load_fomm_model
    from .fomm_bridge import FommBridgeDriver

    if options.photos_per_clip < 1:
        raise InputError(f"photos per clip must be at least 1, got {options.photos_per_clip}")
    photo_root, speech_root, out_dir = Path(photos_dir), Path(speech_dir), Path(out_dir)
    photo_paths = find_files(photo_root, PHOTO_SUFFIXES, "photos")
    clips = find_files(speech_root, SPEECH_SUFFIXES, "speech clips")
    renderer = FommRenderer(load_fomm_model(fomm, fomm_config))
    renderer.model.to(device)
    bridge = FommBridgeDriver(renderer, name=str(fomm))
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    results: List[PairResult] = []

    def record(result: PairResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    photos = PhotoRotation(photo_paths, photo_root, renderer, options.seed, record)
    for clip in clips:
        clip_name = clip.relative_to(speech_root).as_posix()
        transcript = read_transcript(clip)
        for _ in range(options.photos_per_clip):
            while True:  # the next photo in turn; one without a face gives its place to the next
                name = photos.next_name()
                clip_id = safe_id(f"{clip_name}__{name}".replace("/", "__"))
                if shard_path(out_dir, clip_id).exists():
                    record(PairResult(clip_id, DONE_BEFORE))
                    photo = None
                    break
                photo = photos.prepared(name)
                if photo is not None:
                    break
            if photo is None:
                continue
            try:
                record(distill_pair(bridge, photo, clip, clip_name, transcript, out_dir, clip_id, options))
            except InputError as exc:
                if "keypoints do not move" in str(exc):
                    raise  # the model, not this pair: every pair would fail the same way
                record(PairResult(clip_id, SKIPPED, str(exc)))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)  # only now: a run refused early leaves nothing behind
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    write_report(out_dir, results)
    write_manifest(out_dir)
    return results


class PhotoRotation:
    """The photos in turn, from a seeded shuffle, prepared only when used (a few kept), faceless ones skipped.

    Preparing lazily keeps memory flat for any number of photos (FFHQ has 70k) and costs nothing for photos a
    rerun does not need. A photo without a face is reported once and never offered again.
    """

    #: Prepared photos kept for reuse.
    CACHE = 64

    def __init__(self, paths: List[Path], root: Path, renderer, seed: int, record: Callable[[PairResult], None]):
        self.names = [p.relative_to(root).as_posix() for p in paths]
        self.paths = dict(zip(self.names, paths))
        self.order = np.random.default_rng(seed).permutation(len(paths))
        self.renderer = renderer
        self.record = record
        self.root = root
        self.pointer = 0
        self.faceless: set = set()
        self.cache: "OrderedDict[str, SourcePhoto]" = OrderedDict()

    def next_name(self) -> str:
        """The next photo in turn not known to be faceless.

        Raises:
            InputError: every photo is faceless.
        """
        for _ in range(len(self.order)):
            name = self.names[int(self.order[self.pointer % len(self.order)])]
            self.pointer += 1
            if name not in self.faceless:
                return name
        raise InputError(f"{self.root}: no photo with a face found")

    def prepared(self, name: str) -> Optional[SourcePhoto]:
        """The prepared photo, or ``None`` when it has no face (reported once)."""
        if name in self.cache:
            self.cache.move_to_end(name)
            return self.cache[name]
        try:
            photo = prepare_photo(self.paths[name], self.renderer, name)
        except InputError as exc:
            self.faceless.add(name)
            self.record(PairResult(safe_id(name), SKIPPED, str(exc)))
            if len(self.faceless) == len(self.names):
                raise InputError(f"{self.root}: no photo with a face found") from None
            return None
        self.cache[name] = photo
        if len(self.cache) > self.CACHE:
            self.cache.popitem(last=False)
        return photo


def write_report(out_dir: Path, results: List[PairResult]) -> Path:
    """``OUT/distill_report.json`` (atomic): pairs prepared, done before, and skipped inputs with reasons."""
    path = out_dir / REPORT_NAME
    doc = {status: [asdict(r) for r in results if r.status == status] for status in (PREPARED, DONE_BEFORE, SKIPPED)}
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return path
