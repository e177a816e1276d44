"""The offline audio driver: phones, a small viseme network, the acoustics, blinks and head motion to
landmark keypoints, real time on a CPU, nothing downloaded.

Implements :class:`audio2kp.driver.AudioDriver` for the ``"landmarks"`` keypoint space
(:mod:`audio2kp.offline.keypoint_set`). Per clip, the mouth (open, spread, rounded, closed) is a weighted
sum of three estimates that fail in different ways: the viseme network (:mod:`.viseme_net`), the visemes
of the phones PocketSphinx recognises (:mod:`.phonemes`, :mod:`.visemes`) and the first formant times the
level (:mod:`.prosody`); lips close where the network or the recogniser hears p/b/m, except in a nasal
murmur of the tongue (n, ng: :mod:`.stops`). With a transcript, the aligned phones
(:mod:`.transcript`) lead and the network adds how they were said. Blinks come from
:mod:`audio2kp.blinks`, head motion from the speech rhythm (:mod:`.head_motion`). Expression (mouth, jaw,
lids, brows) is built in the face's own frame (:mod:`.expression`), then the head pose is applied as a
similarity about a pivot under the chin. Jacobians are the source's local frames carried by the
least-squares local affine map of each keypoint's neighbourhood (:mod:`.geometry`).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from fomm_core.errors import InputError
from fomm_core.keypoints import Keypoints
from fomm_core.motion_track import MotionTrack
from fomm_core.similarity import Similarity
from fomm_core.threads import torch_threads

from ..audio import MODEL_SAMPLE_RATE, Audio
from ..blinks import blink_curve
from ..controls import AnimationControls
from ..progress import report
from .expression import BROW_FULL_SEMITONES, FaceFrame, MouthShape, blink_offsets, brow_offsets, mouth_offsets, unfold_lips
from .geometry import fit_local_affine, source_jacobians
from .head_motion import HeadMotion, head_motion
from .keypoint_set import KEYPOINT_SPACE, LANDMARK_SET, landmark_neighbours
from .phonemes import SILENCE, Phone, PhonemeRecognizer
from .prosody import ProsodyCurves, prosody_curves
from .transcript import TranscriptAligner
from .viseme_net import VisemeNet, bundled_viseme_net
from .visemes import ANTICIPATION_S, VisemeCurves, articulation_of, viseme_curves, viseme_of

log = logging.getLogger(__name__)

#: Stage name reported to :mod:`audio2kp.progress` while the keypoint track is assembled (seconds of video).
MOTION_STAGE = "building the motion"
#: The audio-only opening is a weighted sum of three estimates that fail in different ways: the viseme
#: network (:mod:`.viseme_net`, trained on synthetic speech; best where PocketSphinx mishears robotic or
#: odd voices), the visemes of the phones PocketSphinx recognises (an acoustic model trained on recorded
#: speech; best on natural voices) and the acoustics (first-formant openness times level: no training,
#: any language). Shares chosen on the tuning and development sentences of bench/offline_lipsync.py.
NET_SHARE, PHONE_SHARE, ACOUSTIC_SHARE = 0.5, 0.3, 0.2
#: Level (0..1 loudness) above which the acoustic opening is no longer scaled down by quietness, as
#: a multiple: the acoustic opening is F1 openness x min(1, LEVEL_GAIN x loudness).
LEVEL_GAIN = 1.3
#: The network's ``closed`` output (0..1) maps to a lip closure from 0 at the first value to 1 at the second.
NET_CLOSED_RANGE = (0.15, 0.45)
#: Lips seal below this opening (0..1): they have thickness and give, so a jaw that is almost shut
#: closes them; openings above are rescaled to keep 1 the widest.
LIP_SEAL = 0.08
#: In a nasal murmur made by the tongue (n, ng) the lips stay this far apart (the viseme table's n), and a
#: heard lip closure there is taken for a mishearing: only m closes the lips.
TONGUE_NASAL_OPEN = viseme_of("N").open
#: While the tongue tip is between the front teeth (th, dh: the track's ``tongue_teeth``) it holds them apart
#: by its thickness, so the lips cannot close further than the viseme table's th: with a transcript the opening
#: is at least this times ``tongue_teeth`` (whatever the network says; a lip closure still wins).
DENTAL_OPEN = viseme_of("TH").open
#: Extra opening per semitone above the median pitch (higher, more emphatic speech opens more).
OPEN_PER_SEMITONE = 0.01
#: With a transcript the phones are known, not guessed: the opening follows the aligned visemes, and this
#: share comes from the viseme network, which hears how the words were actually said (reductions, emphasis).
ALIGNED_NET_SHARE = 0.5
#: An aligned pause over audio at least this loud (0..1) is misplaced (the aligner squeezed the words
#: around it); the hand-over to the network is blurred over this many seconds.
MISPLACED_PAUSE_LOUDNESS, MISPLACED_PAUSE_SPREAD_S = 0.5, 0.04
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
    """Settings of the offline driver (all have working defaults).

    Attributes:
        net_share, phone_share, acoustic_share: weights of the three audio-only opening estimates (see
            :data:`NET_SHARE`); they are normalised to sum to 1. ``net_share=0`` skips the network.
        aligned_net_share: share of the network's opening beside the transcript-aligned visemes.
    """

    net_share: float = NET_SHARE
    phone_share: float = PHONE_SHARE
    acoustic_share: float = ACOUSTIC_SHARE
    aligned_net_share: float = ALIGNED_NET_SHARE


class OfflineDriver:
    """Audio -> landmark keypoint track, real time on a CPU, nothing downloaded (see the module docstring)."""

    keypoint_space = KEYPOINT_SPACE
    needs_source_crop = False  # the landmarks alone are enough
    #: Follows ``AnimationControls.transcript`` (declared on the ``AudioDriver`` protocol).
    uses_transcript = True

    def __init__(self, config: Optional[OfflineDriverConfig] = None):
        self.config = config or OfflineDriverConfig()
        self._recognizer: Optional[PhonemeRecognizer] = None
        self._aligner: Optional[TranscriptAligner] = None
        self._viseme_net: Optional[VisemeNet] = None

    def to(self, device) -> "OfflineDriver":
        """Nothing to move (no networks; it runs on the CPU); returns ``self``."""
        return self

    @property
    def recognizer(self) -> PhonemeRecognizer:
        if self._recognizer is None:
            self._recognizer = PhonemeRecognizer()
        return self._recognizer

    @property
    def viseme_net(self) -> VisemeNet:
        """The bundled viseme network (:func:`.viseme_net.bundled_viseme_net`), loaded on first use."""
        if self._viseme_net is None:
            self._viseme_net = bundled_viseme_net()
        return self._viseme_net

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
        with torch_threads():  # small tensors: one thread is fastest, and immune to a busy second core
            if audio.sample_rate != MODEL_SAMPLE_RATE:
                audio = audio.resampled(MODEL_SAMPLE_RATE)
            audio = Audio(normalised_level(audio.samples), audio.sample_rate, audio.source)
            phones, aligned = self.phones(audio, controls.transcript)
            prosody = prosody_curves(audio.samples, audio.sample_rate, num_frames, fps)
            anticipation = ALIGNED_ANTICIPATION_S if aligned else ANTICIPATION_S
            visemes = viseme_curves(phones, num_frames, fps, anticipation_s=anticipation)
            net = self._net_curves(audio, num_frames, fps)
            if aligned:
                shape = self._aligned_mouth_shape(visemes, net, silence_over_speech(phones, prosody, num_frames, fps))
            else:
                shape = self._mouth_shape(visemes, net, prosody)
            if aligned:  # the transcript knows its th; a recognised th is too often misheard to hold the lips
                shape.open = dental_floor(shape.open, shape.closed, visemes.tongue_teeth)
            blink_rng, head_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(controls.seed).spawn(2))
            closure = blink_curve(num_frames, fps, controls.blink_rate, blink_rng)
            head = head_motion(prosody, fps, head_rng)
            return build_track(source, shape, closure, prosody, head, fps, controls,
                               self._articulation(visemes, None if aligned else net))

    def _net_curves(self, audio: Audio, num_frames: int, fps: float) -> Optional[VisemeCurves]:
        """The viseme network's curves at the video frames, or ``None`` when its shares are 0."""
        if self.config.net_share <= 0 and self.config.aligned_net_share <= 0:
            return None
        return self.viseme_net.curves(audio.samples, num_frames, fps)

    def _mouth_shape(self, visemes: VisemeCurves, net: Optional[VisemeCurves], prosody: ProsodyCurves) -> MouthShape:
        """Audio only: the weighted sum of the network's, the recognised phones' and the acoustic opening;
        lips close where the network or the recogniser hears p/b/m, except in a tongue nasal (n, ng)."""
        c = self.config
        net_share = c.net_share if net is not None else 0.0
        total = net_share + c.phone_share + c.acoustic_share
        heard = prosody.openness * np.clip(LEVEL_GAIN * prosody.loudness, 0, 1)
        opening = (c.phone_share * visemes.open + c.acoustic_share * heard) / total
        closed = visemes.closed
        if net is not None and net_share > 0:
            opening = opening + net_share / total * net.open
            closed = np.maximum(closed, _net_closure(net.closed))
            visemes = _blend(visemes, net, net_share / (net_share + c.phone_share))
        opening = opening * (1 + OPEN_PER_SEMITONE * np.clip(prosody.pitch, 0, None))
        opening = opening * (prosody.loudness > 0)  # silence (under the floor of .prosody) leaves the mouth shut
        shape = _sealed(opening, closed * (1 - prosody.tongue_nasal), visemes)
        shape.open = np.maximum(shape.open, TONGUE_NASAL_OPEN * prosody.tongue_nasal).astype(np.float32)
        return shape

    def _aligned_mouth_shape(self, visemes: VisemeCurves, net: Optional[VisemeCurves],
                             misplaced: Optional[np.ndarray] = None) -> MouthShape:
        """Mouth from phones aligned to a transcript: the visemes lead, the network adds how they were said.

        ``misplaced`` (``(T,)`` in [0, 1]): frames where the alignment put a pause over audible speech (it
        squeezed words elsewhere); there the network alone says what the mouth does.
        """
        if net is None:
            return _sealed(visemes.open, visemes.closed, visemes)
        misplaced = np.zeros_like(visemes.open) if misplaced is None else misplaced
        share = self.config.aligned_net_share + (1 - self.config.aligned_net_share) * misplaced  # (T,)
        net_closed = _net_closure(net.closed)
        opening = (1 - share) * visemes.open + share * net.open * (1 - net_closed)
        closed = (1 - misplaced) * visemes.closed + misplaced * net_closed  # the transcript knows its p/b/m
        return _sealed(opening, closed, _blend(visemes, net, share))


    def _articulation(self, visemes: VisemeCurves, net: Optional[VisemeCurves]) -> np.ndarray:
        """The track's articulation ``(T, C)`` (:func:`.visemes.articulation_of`) from the phones' curves; with the
        network's curves (audio only) its ``lip_teeth`` is mixed in with the share its opening gets beside the
        recognised phones' (it has no tongue channel). With a transcript the aligned phones alone decide."""
        if net is not None and self.config.net_share > 0:
            share = self.config.net_share / (self.config.net_share + self.config.phone_share)
            lip_teeth = ((1 - share) * visemes.lip_teeth + share * net.lip_teeth).astype(np.float32)
            visemes = dataclasses.replace(visemes, lip_teeth=lip_teeth)
        return articulation_of(visemes)


def dental_floor(opening: np.ndarray, closed: np.ndarray, tongue_teeth: Optional[np.ndarray]) -> np.ndarray:
    """``opening`` (``(T,)`` in [0, 1]) raised to at least :data:`DENTAL_OPEN` times ``tongue_teeth`` (``(T,)``,
    or ``None``: unchanged) where the lips are not closed (``closed`` ``(T,)`` in [0, 1])."""
    if tongue_teeth is None:
        return opening
    return np.maximum(opening, DENTAL_OPEN * tongue_teeth * (1 - closed)).astype(np.float32)


def _net_closure(closed: np.ndarray) -> np.ndarray:
    """The network's ``closed`` output ``(T,)`` as a lip closure in [0, 1] (:data:`NET_CLOSED_RANGE`)."""
    lo, hi = NET_CLOSED_RANGE
    return np.clip((closed - lo) / (hi - lo), 0, 1)


def silence_over_speech(phones: List[Phone], prosody: ProsodyCurves, num_frames: int, fps: float) -> np.ndarray:
    """``(T,)`` in [0, 1]: frames inside a pause of ``phones`` where the audio is speech-loud
    (:data:`MISPLACED_PAUSE_LOUDNESS`), widened by :data:`MISPLACED_PAUSE_SPREAD_S` so the hand-over is smooth."""
    times = np.arange(num_frames) / fps
    pause = np.zeros(num_frames, bool)
    for phone in phones:
        if phone.label == SILENCE:
            pause |= (times >= phone.start) & (times < phone.end)
    misplaced = (pause & (prosody.loudness > MISPLACED_PAUSE_LOUDNESS)).astype(np.float32)
    if not misplaced.any():
        return misplaced
    spread = max(MISPLACED_PAUSE_SPREAD_S * fps, 1e-3)
    return np.clip(gaussian_filter1d(misplaced, spread, mode="constant") * 2, 0, 1).astype(np.float32)


def _blend(a: VisemeCurves, b: VisemeCurves, share_b) -> VisemeCurves:
    """``a`` and ``b`` mixed, ``share_b`` (a number or ``(T,)``) of ``b``, for the shape curves (wide, round,
    lip_teeth); ``a``'s open and closed are kept (the callers combine those themselves)."""
    def mix(x, y):
        return ((1 - share_b) * x + share_b * y).astype(np.float32)

    return VisemeCurves(a.open, mix(a.wide, b.wide), mix(a.round, b.round), a.closed, mix(a.lip_teeth, b.lip_teeth))


def normalised_level(samples: np.ndarray) -> np.ndarray:
    """``samples`` (``(N,)`` float32 in [-1, 1]) brought up to a normal level if quiet (see :data:`LEVEL_TARGET`)."""
    if len(samples) == 0:
        return samples
    peak = float(np.quantile(np.abs(samples), PEAK_QUANTILE))
    if peak <= 10 ** (QUIET_FLOOR_DBFS / 20) or peak >= LEVEL_TARGET:
        return samples
    gain = min(LEVEL_TARGET / peak, 10 ** (MAX_GAIN_DB / 20))
    return np.clip(samples * gain, -1.0, 1.0).astype(np.float32)


def _sealed(opening: np.ndarray, closed: np.ndarray, visemes: VisemeCurves) -> MouthShape:
    """Lip closures ``closed`` (``(T,)`` in [0, 1]) shut ``opening`` (``(T,)``), which then seals below
    :data:`LIP_SEAL`; spreading and rounding come from ``visemes``."""
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
