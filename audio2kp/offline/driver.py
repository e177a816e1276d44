"""The offline audio driver: phones, loudness, blinks and head motion to landmark keypoints, no weights.

Implements :class:`audio2kp.driver.AudioDriver` for the ``"landmarks"`` keypoint space
(:mod:`audio2kp.offline.keypoint_set`). Per clip: the mouth opening mostly from the first formant and
the level (:mod:`.prosody`), PocketSphinx phones -> visemes with coarticulation for the rest and for
closures, spreading and rounding; blinks (:mod:`audio2kp.blinks`); head motion on the speech rhythm
(:mod:`.head_motion`). Expression (mouth, jaw, lids, brows) is built in the face's own frame
(:mod:`.expression`), then the head pose is applied as a similarity about a pivot under the chin.
Jacobians are the source's local frames carried by the least-squares local affine map of each keypoint's
neighbourhood (:mod:`.geometry`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch

from fomm_core.errors import InputError
from fomm_core.keypoints import Keypoints
from fomm_core.motion_track import MotionTrack
from fomm_core.similarity import Similarity

from ..audio import MODEL_SAMPLE_RATE, Audio
from ..blinks import blink_curve
from ..controls import AnimationControls
from ..progress import report
from .expression import BROW_FULL_SEMITONES, FaceFrame, MouthShape, blink_offsets, brow_offsets, mouth_offsets, unfold_lips
from .geometry import fit_local_affine, source_jacobians
from .head_motion import HeadMotion, head_motion
from .keypoint_set import KEYPOINT_SPACE, LANDMARK_SET, landmark_neighbours
from .phonemes import Phone, PhonemeRecognizer
from .prosody import ProsodyCurves, prosody_curves
from .stops import hold_open
from .transcript import TranscriptAligner
from .visemes import ANTICIPATION_S, articulation_of, viseme_curves, viseme_of

log = logging.getLogger(__name__)

#: Stage name reported to :mod:`audio2kp.progress` while the keypoint track is assembled (seconds of video).
MOTION_STAGE = "building the motion"
#: Share of the phone-based opening that follows loudness (squared) rather than the viseme of the
#: recognised phone: loudness is robust where recognition is not (other languages, singing, noise).
LOUDNESS_SHARE = 0.3
#: Share of the opening read from the acoustics (first-formant frequency times level) rather than from
#: the recognised phones: PocketSphinx often mishears a voice (espeak-ng's among them) or drops vowels to
#: silence, while F1 tracks jaw opening on any voiced sound, in any language.
ACOUSTIC_SHARE = 0.7
#: Level (0..1 loudness) above which the acoustic opening is no longer scaled down by quietness, as
#: a multiple: the acoustic opening is F1 openness x min(1, LEVEL_GAIN x loudness).
LEVEL_GAIN = 1.3
#: The mouth shuts where the first-formant band falls below this level (0..1, see ``ProsodyCurves``)
#: and is fully free above it plus :data:`CLOSURE_GATE_RANGE`: closures the recogniser missed still close.
CLOSURE_GATE_LEVEL, CLOSURE_GATE_RANGE = 0.4, 0.3
#: Behind a tongue closure (t, d, k, g) the jaw holds this share of the opening around it (:mod:`.stops`).
TONGUE_STOP_HOLD = 0.6
#: Lips seal below this opening (0..1): they have thickness and give, so a jaw that is almost shut
#: closes them; openings above are rescaled to keep 1 the widest.
LIP_SEAL = 0.08
#: In a nasal murmur made by the tongue (n, ng) the lips stay this far apart (the viseme table's n), and a
#: recognised lip closure there is taken for a mishearing: only m closes the lips.
TONGUE_NASAL_OPEN = viseme_of("N").open
#: Extra opening per semitone above the median pitch (higher, more emphatic speech opens more).
OPEN_PER_SEMITONE = 0.01
#: With a transcript the phones are known, not guessed: the opening follows the aligned visemes and only
#: this share comes from the acoustics (F1 openness times level), which still carries emphasis.
ALIGNED_ACOUSTIC_SHARE = 0.4
#: Aligned phone boundaries are where the sound changes, which for the lips is where they move (a closure's
#: silence starts as they shut): no anticipation on top (20 ms more lowered the tuning-set agreement).
ALIGNED_ANTICIPATION_S = 0.0
#: Quiet recordings are brought up (never down) so their peaks (the :data:`PEAK_QUANTILE` of the
#: absolute sample values) reach :data:`LEVEL_TARGET` of full scale, by at most :data:`MAX_GAIN_DB`; clips
#: whose peaks are under :data:`QUIET_FLOOR_DBFS` are silence or hiss and are left alone. PocketSphinx and
#: the silence floor of :mod:`.prosody` then see a quiet phone recording as they see a normal one.
PEAK_QUANTILE, LEVEL_TARGET, MAX_GAIN_DB, QUIET_FLOOR_DBFS = 0.999, 0.5, 40.0, -50.0
#: Frames assembled at once (bounds the working memory for long clips).
WINDOW_FRAMES = 500
#: The head turns about a pivot this many eye-to-chin distances below the chin (the neck).
PIVOT_BELOW_CHIN = 0.3


@dataclass
class OfflineDriverConfig:
    """Settings of the offline driver (all have working defaults)."""

    loudness_share: float = LOUDNESS_SHARE
    acoustic_share: float = ACOUSTIC_SHARE
    aligned_acoustic_share: float = ALIGNED_ACOUSTIC_SHARE


class OfflineDriver:
    """Audio -> landmark keypoint track, real time on a CPU, no learned weights."""

    keypoint_space = KEYPOINT_SPACE
    needs_source_crop = False  # the landmarks alone are enough
    #: Follows ``AnimationControls.transcript`` (declared on the ``AudioDriver`` protocol).
    uses_transcript = True

    def __init__(self, config: Optional[OfflineDriverConfig] = None):
        self.config = config or OfflineDriverConfig()
        self._recognizer: Optional[PhonemeRecognizer] = None
        self._aligner: Optional[TranscriptAligner] = None

    def to(self, device) -> "OfflineDriver":
        """Nothing to move (no networks; it runs on the CPU); returns ``self``."""
        return self

    @property
    def recognizer(self) -> PhonemeRecognizer:
        if self._recognizer is None:
            self._recognizer = PhonemeRecognizer()
        return self._recognizer

    @property
    def aligner(self) -> TranscriptAligner:
        if self._aligner is None:
            self._aligner = TranscriptAligner()
        return self._aligner

    def phones(self, audio: Audio, transcript: Optional[str]) -> Tuple[List[Phone], bool]:
        """``(phones in time order, whether they come from the transcript)`` of a 16 kHz clip.

        With a transcript, its words are aligned to the audio; a transcript that does not fit (see
        :class:`.transcript.TranscriptAligner`) is set aside with a one-line warning on this module's logger,
        and the phones are recognised from the audio alone, as without one.
        """
        if transcript is not None:
            result = self.aligner.align(audio.samples, transcript)
            if result.ok:
                return result.phones, True
            log.warning("%sthe transcript does not fit the audio (%s); the mouth follows the audio alone",
                        f"{audio.source}: " if audio.source else "", result.problem)
        return self.recognizer.recognize(audio.samples), False

    def drive(self, audio: Audio, source: Keypoints, fps: float, num_frames: int,
              controls: AnimationControls) -> MotionTrack:
        """Motion for ``num_frames`` frames at ``fps`` (see :class:`audio2kp.driver.AudioDriver`).

        Args:
            audio: mono clip; resampled to 16 kHz if needed.
            source: the source's landmark keypoints, values ``(1, K, 2)`` in [-1, 1], Jacobians
                ``(1, K, 2, 2)`` or ``None`` (then computed from the landmark geometry).
            fps: video frame rate.
            num_frames: T.
            controls: expression and pose scales, seed, blink rate, and the transcript if any.

        Returns:
            ``MotionTrack`` ``(T, K, 2)`` values and ``(T, K, 2, 2)`` Jacobians, space ``"landmarks"``.
        """
        if source.num_kp != LANDMARK_SET.num_kp:
            raise InputError(f"the offline driver needs the {LANDMARK_SET.num_kp} landmark keypoints, got {source.num_kp}")
        if num_frames < 1:
            raise InputError(f"{audio.source or 'audio'}: shorter than one video frame at {fps} fps")
        if audio.sample_rate != MODEL_SAMPLE_RATE:
            audio = audio.resampled(MODEL_SAMPLE_RATE)
        audio = Audio(normalised_level(audio.samples), audio.sample_rate, audio.source)
        phones, aligned = self.phones(audio, controls.transcript)
        prosody = prosody_curves(audio.samples, audio.sample_rate, num_frames, fps)
        anticipation = ALIGNED_ANTICIPATION_S if aligned else ANTICIPATION_S
        visemes = viseme_curves(phones, num_frames, fps, anticipation_s=anticipation)
        shape = self._aligned_mouth_shape(visemes, prosody) if aligned else self._mouth_shape(visemes, prosody)
        blink_rng, head_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(controls.seed).spawn(2))
        closure = blink_curve(num_frames, fps, controls.blink_rate, blink_rng)
        head = head_motion(prosody, fps, head_rng)
        return build_track(source, shape, closure, prosody, head, fps, controls, articulation_of(visemes))

    def _mouth_shape(self, visemes, prosody: ProsodyCurves) -> MouthShape:
        share, acoustic = self.config.loudness_share, self.config.acoustic_share
        phonetic = (1 - share) * visemes.open + share * prosody.loudness ** 2
        heard = prosody.openness * np.clip(LEVEL_GAIN * prosody.loudness, 0, 1)
        opening = (1 - acoustic) * phonetic + acoustic * heard
        opening = opening * (1 + OPEN_PER_SEMITONE * np.clip(prosody.pitch, 0, None))
        # Closures and silence shut the mouth whatever the loudness says, except that the jaw stays
        # open behind the tongue (t, d, k, g), and recognised lip closures (p, b, m) always shut.
        gate = np.clip((prosody.vowel_band - CLOSURE_GATE_LEVEL) / CLOSURE_GATE_RANGE, 0, 1)
        opening = opening * gate * (prosody.loudness > 0)
        opening = hold_open(opening, prosody.tongue_stop, TONGUE_STOP_HOLD)
        shape = _sealed(opening, visemes, lips_free=prosody.tongue_nasal)
        shape.open = np.maximum(shape.open, TONGUE_NASAL_OPEN * prosody.tongue_nasal).astype(np.float32)
        return shape

    def _aligned_mouth_shape(self, visemes, prosody: ProsodyCurves) -> MouthShape:
        """Mouth from phones aligned to a transcript: the visemes lead, the acoustics add emphasis."""
        acoustic = self.config.aligned_acoustic_share
        heard = prosody.openness * np.clip(LEVEL_GAIN * prosody.loudness, 0, 1)
        opening = (1 - acoustic) * visemes.open + acoustic * heard * (visemes.open > 0)
        opening = opening * (1 + OPEN_PER_SEMITONE * np.clip(prosody.pitch, 0, None))
        return _sealed(opening, visemes)


def normalised_level(samples: np.ndarray) -> np.ndarray:
    """``samples`` (``(N,)`` float32 in [-1, 1]) brought up to a normal level if quiet (see :data:`LEVEL_TARGET`)."""
    if len(samples) == 0:
        return samples
    peak = float(np.quantile(np.abs(samples), PEAK_QUANTILE))
    if peak <= 10 ** (QUIET_FLOOR_DBFS / 20) or peak >= LEVEL_TARGET:
        return samples
    gain = min(LEVEL_TARGET / peak, 10 ** (MAX_GAIN_DB / 20))
    return np.clip(samples * gain, -1.0, 1.0).astype(np.float32)


def _sealed(opening: np.ndarray, visemes, lips_free: Optional[np.ndarray] = None) -> MouthShape:
    """Lip closures shut ``opening`` (``(T,)``), which then seals below :data:`LIP_SEAL`; ``lips_free``
    (``(T,)`` in [0, 1]) cancels the closures where the acoustics say the lips are apart."""
    closed = visemes.closed if lips_free is None else visemes.closed * (1 - lips_free)
    opening = np.clip((opening * (1 - closed) - LIP_SEAL) / (1 - LIP_SEAL), 0, 1)
    return MouthShape(opening.astype(np.float32), visemes.wide, visemes.round, closed.astype(np.float32))


def build_track(source: Keypoints, shape: MouthShape, closure: np.ndarray, prosody: ProsodyCurves,
                head: HeadMotion, fps: float, controls: AnimationControls,
                articulation: Optional[np.ndarray] = None) -> MotionTrack:
    """Assemble keypoints and Jacobians from the per-frame mouth, blink, brow and head curves.

    Frames are built :data:`WINDOW_FRAMES` at a time into the preallocated track, so the working memory
    beyond the track itself does not grow with the clip.

    Args:
        articulation: ``(T, C)`` in [0, 1], the tongue and lip-teeth contacts (:func:`.visemes.articulation_of`),
            carried on the track scaled like the expression (``controls.expression_scale``, at most 1), or ``None``.
    """
    src = source.value[0].detach().cpu().double().numpy()  # (K, 2)
    frame = FaceFrame.of(src)
    local = frame.to_local(src)
    emphasis = np.clip(prosody.pitch / BROW_FULL_SEMITONES, 0, 1) * prosody.loudness
    src_t = torch.from_numpy(src.astype(np.float32))[None]  # (1, K, 2)
    neighbours = torch.from_numpy(landmark_neighbours(src))
    src_jac = source.jacobian.detach().cpu().float() if source.jacobian is not None else source_jacobians(src_t, neighbours)
    pose = _pose(src, frame, head, controls.pose_scale)
    num_frames, num_kp = len(shape.open), len(src)
    value = torch.empty(num_frames, num_kp, 2)
    jacobian = torch.empty(num_frames, num_kp, 2, 2)
    report(MOTION_STAGE, 0.0, num_frames / fps)
    for a in range(0, num_frames, WINDOW_FRAMES):
        b = min(a + WINDOW_FRAMES, num_frames)
        part = MouthShape(shape.open[a:b], shape.wide[a:b], shape.round[a:b], shape.closed[a:b])
        offsets = frame.offsets_to_image(mouth_offsets(local, part) + brow_offsets(num_kp, emphasis[a:b]))
        offsets = offsets + blink_offsets(src, closure[a:b])
        moved = src[None] + controls.expression_scale * offsets  # (W, K, 2)
        if controls.expression_scale > 1:  # amplified closing could push the lower lip over the upper one
            moved = frame.origin + frame.offsets_to_image(unfold_lips(frame.to_local(moved)))
        moved_t = torch.from_numpy(moved.astype(np.float32))
        jac = fit_local_affine(src_t, moved_t, neighbours) @ src_jac  # (W, K, 2, 2)
        window_pose = Similarity(pose.angle[a:b], pose.log_scale[a:b], pose.translation[a:b])
        value[a:b] = window_pose.apply_points(moved_t)
        jacobian[a:b] = window_pose.apply_jacobians(jac)
        report(MOTION_STAGE, b / fps, num_frames / fps)
    if articulation is not None:
        # An expression scaled down (0: a frozen face) articulates less; scaled up, a contact stays a contact.
        articulation = torch.from_numpy(np.clip(controls.expression_scale * articulation, 0, 1).astype(np.float32))
    return MotionTrack(value, jacobian, fps, KEYPOINT_SPACE, articulation)


def _pose(src: np.ndarray, frame: FaceFrame, head: HeadMotion, pose_scale: float) -> Similarity:
    """Head motion as similarities about a pivot under the chin, in normalised image units."""
    eyes = src[LANDMARK_SET.groups_of("eyelid_right_upper", "eyelid_left_upper")].mean(0)
    chin = src[LANDMARK_SET.chin]
    pivot = chin + PIVOT_BELOW_CHIN * (chin - eyes)
    ear_r, ear_l = LANDMARK_SET.ears
    face_width = float(np.linalg.norm(src[ear_l] - src[ear_r]))
    angle = torch.from_numpy(pose_scale * head.roll).float()
    log_scale = torch.from_numpy(pose_scale * head.lean).float()
    shift = torch.from_numpy(pose_scale * face_width * (head.shift @ frame.axes.T)).float()  # (T, 2)
    c = torch.from_numpy(pivot).float()
    sim = Similarity(angle, log_scale, torch.zeros_like(shift))
    sim.translation = c[None] + shift - torch.einsum("tij,j->ti", sim.matrix, c)
    return sim
