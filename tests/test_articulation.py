"""The articulation channel on motion tracks and keypoint windows: carried through every operation, saved."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from fomm_core import InputError, Keypoints, MotionTrack
from fomm_core.articulation import ARTICULATION_CHANNELS, LIP_TEETH, TONGUE_RAISE, TONGUE_TEETH, articulation_channel

FRAMES, NUM_KP = 9, 6
C = len(ARTICULATION_CHANNELS)


def _track(articulation: bool = True, frames: int = FRAMES, seed: int = 0) -> MotionTrack:
    g = torch.Generator().manual_seed(seed)
    art = torch.rand(frames, len(ARTICULATION_CHANNELS), generator=g) if articulation else None
    return MotionTrack(torch.rand(frames, NUM_KP, 2, generator=g) * 2 - 1, torch.rand(frames, NUM_KP, 2, 2, generator=g),
                       fps=25.0, keypoint_space="landmarks", articulation=art)


def test_channels_are_named():
    assert ARTICULATION_CHANNELS == ("tongue_raise", "lip_teeth", "tongue_teeth")
    art = torch.tensor([[0.25, 0.75, 0.5]])
    assert articulation_channel(art, "tongue_raise", 1).item() == 0.25
    assert articulation_channel(art, "lip_teeth", 1).item() == 0.75
    assert articulation_channel(art, "tongue_teeth", 1).item() == 0.5
    assert articulation_channel(None, "lip_teeth", 3).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(KeyError, match="tongue_out"):
        articulation_channel(art, "tongue_out", 1)


def test_window_and_slice_carry_articulation():
    track = _track()
    window = track.window(2, 7)
    assert torch.equal(window.articulation, track.articulation[2:7])
    part = track[3:8]
    assert isinstance(part, MotionTrack) and len(part) == 5
    assert torch.equal(part.articulation, track.articulation[3:8]) and torch.equal(part.value, track.value[3:8])
    assert part.fps == track.fps and part.keypoint_space == track.keypoint_space
    assert _track(articulation=False).window(0, 4).articulation is None
    with pytest.raises(TypeError):
        track[3]
    with pytest.raises(TypeError):
        track[::2]


def test_keypoint_operations_carry_articulation():
    window = _track().window(0, FRAMES)
    for moved in (window.to("cpu", torch.float64), window.detach(), window[1:4], window[2]):
        assert moved.articulation is not None and moved.articulation.shape == (moved.batch_size, len(ARTICULATION_CHANNELS))
    assert window[2].articulation[0].tolist() == window.articulation[2].tolist()
    one = window[0].expand(4)
    assert one.articulation.shape == (4, C) and torch.equal(one.articulation[3], window.articulation[0])


def test_pose_split_keeps_articulation():
    track = _track()
    source = Keypoints(track.value[:1], track.jacobian[:1])
    pose, expression = track.split_pose(source)
    assert torch.equal(expression.articulation, track.articulation)
    assert torch.equal(expression.with_pose(pose).articulation, track.articulation)


def test_concatenation_fills_missing_articulation_with_zeros():
    a, b, c = _track(frames=4, seed=1), _track(articulation=False, frames=3, seed=2), _track(frames=2, seed=3)
    joined = MotionTrack.cat([a, b, c])
    assert len(joined) == 9 and joined.articulation.shape == (9, C)
    assert torch.equal(joined.articulation[:4], a.articulation)
    assert torch.equal(joined.articulation[4:7], torch.zeros(3, C))
    assert torch.equal(joined.articulation[7:], c.articulation)
    assert torch.equal(joined.value[4:7], b.value)
    assert MotionTrack.cat([b, b]).articulation is None
    # Joining windows is the same as windowing the joined track.
    again = Keypoints.cat([joined.window(0, 5), joined.window(5, 9)])
    assert torch.equal(again.articulation, joined.articulation) and torch.equal(again.value, joined.value)
    with pytest.raises(InputError, match="fps"):
        MotionTrack.cat([a, MotionTrack(a.value, a.jacobian, 30.0, "landmarks", a.articulation)])
    with pytest.raises(InputError):
        MotionTrack.cat([])


def test_save_load_roundtrip_with_and_without_articulation(tmp_path):
    for name, track in (("with", _track()), ("without", _track(articulation=False))):
        path = tmp_path / f"{name}.safetensors"
        track.save(path)
        back = MotionTrack.load(path)
        assert torch.equal(back.value, track.value) and torch.equal(back.jacobian, track.jacobian)
        if track.articulation is None:
            assert back.articulation is None
        else:
            assert torch.equal(back.articulation, track.articulation)
    # A saved window reads back as that window.
    track = _track()
    track[2:6].save(tmp_path / "part.safetensors")
    assert torch.equal(MotionTrack.load(tmp_path / "part.safetensors").articulation, track.articulation[2:6])


def test_load_matches_channels_by_name(tmp_path):
    value = torch.zeros(3, NUM_KP, 2)
    lip = torch.tensor([[0.1], [0.9], [0.5]])
    path = tmp_path / "old.safetensors"
    meta = {"fps": "25.0", "keypoint_space": "landmarks", "articulation_channels": json.dumps(["lip_teeth"])}
    save_file({"value": value, "articulation": lip}, str(path), metadata=meta)
    back = MotionTrack.load(path)
    assert torch.equal(back.articulation[:, LIP_TEETH], lip[:, 0])
    assert torch.equal(back.articulation[:, TONGUE_RAISE], torch.zeros(3))  # a channel the file lacks is zeros
    meta["articulation_channels"] = json.dumps(["lip_teeth", "jaw_thrust"])
    save_file({"value": value, "articulation": torch.zeros(3, 2)}, str(path), metadata=meta)
    with pytest.raises(InputError, match="jaw_thrust"):
        MotionTrack.load(path)


def test_track_saved_before_tongue_teeth_loads(tmp_path):
    """A track saved when the channels were ("tongue_raise", "lip_teeth") loads, its th channel at zero."""
    old = torch.tensor([[0.2, 0.0], [1.0, 0.3], [0.0, 1.0]])
    path = tmp_path / "two_channels.safetensors"
    meta = {"fps": "25.0", "keypoint_space": "landmarks",
            "articulation_channels": json.dumps(["tongue_raise", "lip_teeth"])}
    save_file({"value": torch.zeros(3, NUM_KP, 2), "articulation": old}, str(path), metadata=meta)
    back = MotionTrack.load(path)
    assert back.articulation.shape == (3, C)
    assert torch.equal(back.articulation[:, TONGUE_RAISE], old[:, 0])
    assert torch.equal(back.articulation[:, LIP_TEETH], old[:, 1])
    assert torch.equal(back.articulation[:, TONGUE_TEETH], torch.zeros(3))


def test_articulation_is_checked():
    value = torch.zeros(4, NUM_KP, 2)
    with pytest.raises(ValueError, match="articulation"):
        MotionTrack(value, None, 25.0, articulation=torch.zeros(3, C))  # wrong frame count
    with pytest.raises(ValueError, match="articulation"):
        MotionTrack(value, None, 25.0, articulation=torch.zeros(4, C + 1))  # wrong channel count
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        MotionTrack(value, None, 25.0, articulation=torch.full((4, C), 1.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        MotionTrack(value, None, 25.0, articulation=torch.full((4, C), float("nan")))
    with pytest.raises(ValueError, match="articulation"):
        Keypoints(value, None, torch.zeros(2, C))
