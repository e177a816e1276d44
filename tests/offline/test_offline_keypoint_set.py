"""The landmark keypoint set: its contours are mediapipe's own contours, its named points the right ones."""

from __future__ import annotations

import numpy as np

from audio2kp.offline.keypoint_set import LANDMARK_SET as KS
from audio2kp.offline.keypoint_set import NUM_MESH_POINTS


def _edges(name: str) -> set:
    from mediapipe.python.solutions import face_mesh_connections as connections

    return {frozenset(edge) for edge in getattr(connections, name)}


def _walk_is_contour(points, edges) -> bool:
    return all(frozenset(pair) in edges for pair in zip(points, points[1:]))


def test_groups_are_distinct_mesh_points():
    idx = KS.mesh_indices
    assert len(idx) == len(set(idx)) == KS.num_kp == 160
    assert all(0 <= i < NUM_MESH_POINTS for i in idx)


def test_lip_and_eye_groups_follow_mediapipe_contours():
    lips = _edges("FACEMESH_LIPS")
    outer_up = [KS.mesh_indices[k] for k in KS.group("lips_outer_upper")]
    outer_low = [outer_up[0]] + [KS.mesh_indices[k] for k in KS.group("lips_outer_lower")] + [outer_up[-1]]
    inner_up = [KS.mesh_indices[k] for k in KS.group("lips_inner_upper")]
    inner_low = [inner_up[0]] + [KS.mesh_indices[k] for k in KS.group("lips_inner_lower")] + [inner_up[-1]]
    for contour in (outer_up, outer_low, inner_up, inner_low):
        assert _walk_is_contour(contour, lips), contour
    for side, mp_name in (("right", "FACEMESH_RIGHT_EYE"), ("left", "FACEMESH_LEFT_EYE")):
        corners = [KS.mesh_indices[k] for k in KS.group(f"eye_{side}_corners")]
        for lid in ("upper", "lower"):
            walk = [corners[0]] + [KS.mesh_indices[k] for k in KS.group(f"eyelid_{side}_{lid}")] + [corners[1]]
            assert _walk_is_contour(walk, _edges(mp_name)), (side, lid)


def test_jaw_and_outline_are_on_the_face_oval():
    oval = _edges("FACEMESH_FACE_OVAL")
    jaw = [KS.mesh_indices[k] for k in KS.group("jaw")]
    outline = [KS.mesh_indices[k] for k in KS.group("outline")]
    assert _walk_is_contour(jaw, oval) and _walk_is_contour(outline, oval)
    assert KS.mesh_indices[KS.chin] == 152


def test_named_points_sit_where_they_should(prepared):
    value = prepared[1].keypoints.value[0].numpy()
    right, left = KS.mouth_corners
    assert value[right, 0] < value[left, 0]  # the subject's right corner is on the image's left
    up_out, up_in = KS.upper_lip_centre
    low_in, low_out = KS.lower_lip_centre
    ys = [value[i, 1] for i in (up_out, up_in, low_in, low_out, KS.chin)]
    assert ys == sorted(ys)  # top to bottom
    assert np.all(np.abs(value) < 1)
