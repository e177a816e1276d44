"""Training data: the three video layouts, bad files skipped, id-sampling, sampler, augmentation."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fomm_core.errors import InputError
from fomm_core.training.augment import AugmentConfig, adjust_hue, augment_clip
from fomm_core.training.data import DataConfig, EpochBatchSampler, FramePairDataset, collate_pairs, scan_videos
from fomm_core.training.video_io import read_all_frames

from ftrain_helpers import SIZE, moving_square_frames, write_frame_folder, write_mp4, write_strip


def test_mp4_strip_and_frame_folder_read_the_same_frames(tmp_path):
    frames = moving_square_frames(0)
    write_mp4(frames, tmp_path / "a.mp4")
    write_strip(frames, tmp_path / "b.png")
    write_frame_folder(frames, tmp_path / "c")
    scan = scan_videos(tmp_path)
    assert [v.kind for v in scan.videos] == ["container", "strip", "frames"]
    assert all(v.num_frames == len(frames) for v in scan.videos)
    mp4, strip, folder = (read_all_frames(v, SIZE) for v in scan.videos)
    assert np.array_equal(strip, frames) and np.array_equal(folder, frames)
    # H.264 at crf 0 in 4:4:4 goes through YUV: within a few levels
    assert np.abs(mp4.astype(int) - frames.astype(int)).max() <= 3


def test_frames_are_resized_to_frame_size(tmp_path):
    write_strip(moving_square_frames(1), tmp_path / "v.png")
    video = scan_videos(tmp_path).videos[0]
    assert read_all_frames(video, 32).shape == (6, 32, 32, 3)


def test_bad_files_are_skipped_and_reported(tmp_path):
    write_mp4(moving_square_frames(0), tmp_path / "good.mp4")
    (tmp_path / "text.mp4").write_text("not a video")
    good = (tmp_path / "good.mp4").read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(good[: len(good) // 3])
    (tmp_path / "empty_folder").mkdir()
    from PIL import Image

    Image.new("RGB", (100, 64)).save(tmp_path / "bad_strip.png")  # 100 is not a multiple of 64
    scan = scan_videos(tmp_path)
    assert [v.path.name for v in scan.videos] == ["good.mp4"]
    skipped = {p.name: reason for p, reason in scan.skipped}
    assert set(skipped) == {"text.mp4", "truncated.mp4", "empty_folder", "bad_strip.png"}
    assert "cannot open video" in skipped["text.mp4"] and "text.mp4" in skipped["text.mp4"]
    assert "square frames" in skipped["bad_strip.png"]


def test_no_readable_video_is_an_input_error(tmp_path):
    (tmp_path / "x.mp4").write_text("nope")
    with pytest.raises(InputError, match="no readable videos"):
        scan_videos(tmp_path)
    with pytest.raises(InputError, match="not found"):
        scan_videos(tmp_path / "missing")


def test_video_failing_at_read_time_is_replaced_by_another(tmp_path, caplog):
    write_strip(moving_square_frames(0), tmp_path / "a.png")
    write_strip(moving_square_frames(1), tmp_path / "b.png")
    videos = scan_videos(tmp_path).videos
    (tmp_path / "a.png").write_text("broken after the scan")
    dataset = FramePairDataset(videos, DataConfig(frame_size=SIZE, num_repeats=1), augment=False)
    for index in range(len(dataset)):
        source, driving = dataset[(0, index)]
        assert source.shape == (3, SIZE, SIZE)
    assert any("a.png" in f for f in dataset.failed)
    assert "skipping unreadable video" in caplog.text


def test_id_sampling_groups_videos_by_identity(tmp_path):
    for name in ["id1#x.png", "id1#y.png", "id2#z.png"]:
        write_strip(moving_square_frames(len(name)), tmp_path / name)
    videos = scan_videos(tmp_path).videos
    by_video = FramePairDataset(videos, DataConfig(frame_size=SIZE, num_repeats=3))
    by_id = FramePairDataset(videos, DataConfig(frame_size=SIZE, num_repeats=3, id_sampling=True))
    assert len(by_video) == 9 and len(by_id) == 6
    assert by_id.groups == [[0, 1], [2]]


def test_samples_are_reproducible_and_sorted_pairs(tmp_path):
    write_strip(moving_square_frames(0), tmp_path / "a.png")
    videos = scan_videos(tmp_path).videos
    cfg = DataConfig(frame_size=SIZE, num_repeats=4, augment=AugmentConfig(flip=False, brightness=0, contrast=0,
                                                                            saturation=0, hue=0))
    dataset = FramePairDataset(videos, cfg, seed=3)
    a = dataset[(1, 2)]
    b = dataset[(1, 2)]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    frames = torch.from_numpy(read_all_frames(videos[0], SIZE)).permute(0, 3, 1, 2).float() / 255
    for key in [(0, 0), (0, 1), (2, 3), (5, 0)]:
        source, driving = dataset[key]
        i = [t for t in range(len(frames)) if torch.equal(frames[t], source)]
        j = [t for t in range(len(frames)) if torch.equal(frames[t], driving)]
        assert i and j and i[0] <= j[0]  # two real frames of the video, in time order before flips


def test_sampler_resumes_mid_epoch_and_splits_ranks():
    full = list(EpochBatchSampler(20, 3, seed=1))
    assert len(full) == 6
    resumed = EpochBatchSampler(20, 3, seed=1)
    resumed.set_position(0, 4)
    assert list(resumed) == full[4:]
    other_epoch = EpochBatchSampler(20, 3, seed=1)
    other_epoch.set_position(1)
    assert list(other_epoch) != full
    ranks = [list(EpochBatchSampler(20, 3, seed=1, rank=r, world_size=2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == 3
    seen = [k for r in ranks for batch in r for k in batch]
    assert len(seen) == len(set(seen)) == 18
    with pytest.raises(InputError, match="smaller than one global batch"):
        EpochBatchSampler(5, 3, world_size=2)


def test_worker_processes_give_the_same_batches(tmp_path):
    for i in range(3):
        write_strip(moving_square_frames(i), tmp_path / f"v{i}.png")
    dataset = FramePairDataset(scan_videos(tmp_path).videos, DataConfig(frame_size=SIZE, num_repeats=2), seed=0)

    def batches(workers):
        sampler = EpochBatchSampler(len(dataset), 2, seed=0)
        loader = DataLoader(dataset, batch_sampler=sampler, num_workers=workers, collate_fn=collate_pairs)
        return [torch.cat(b) for b in loader]

    for a, b in zip(batches(0), batches(2)):
        assert torch.equal(a, b)


def test_time_flip_and_mirror_are_exclusive_and_shared_by_both_frames():
    clip = torch.rand(2, 3, 8, 8)
    cfg = AugmentConfig(brightness=0, contrast=0, saturation=0, hue=0)
    outcomes = {"same": 0, "time": 0, "mirror": 0}
    for seed in range(400):
        out = augment_clip(clip, cfg, np.random.default_rng(seed))
        if torch.equal(out, clip):
            outcomes["same"] += 1
        elif torch.equal(out, clip.flip(0)):
            outcomes["time"] += 1
        elif torch.equal(out, clip.flip(-1)):
            outcomes["mirror"] += 1
        else:
            raise AssertionError("flip produced something else")
    # P(time) = 1/2, P(mirror) = 1/4, P(none) = 1/4
    assert 160 < outcomes["time"] < 240 and 60 < outcomes["mirror"] < 140 and 60 < outcomes["same"] < 140


def test_color_jitter_stays_in_range_and_hue_matches_colorsys():
    clip = torch.rand(2, 3, 16, 16)
    out = augment_clip(clip, AugmentConfig(flip=False), np.random.default_rng(0))
    assert out.shape == clip.shape and out.min() >= 0 and out.max() <= 1
    assert 0 < (out - clip).abs().mean() < 0.15
    shifted = adjust_hue(clip, 0.3)
    for y, x in [(0, 0), (5, 9), (15, 3)]:
        h, s, v = colorsys.rgb_to_hsv(*clip[0, :, y, x].tolist())
        expected = colorsys.hsv_to_rgb((h + 0.3) % 1.0, s, v)
        assert np.allclose(shifted[0, :, y, x].numpy(), expected, atol=1e-5)


def test_official_yaml_train_config_is_read(tmp_path):
    import yaml

    from fomm_core.training.config import load_train_config

    official = {
        "dataset_params": {"root_dir": "data/vox-png", "frame_shape": [256, 256, 3], "id_sampling": True,
                           "augmentation_params": {"flip_param": {"horizontal_flip": True, "time_flip": True},
                                                   "jitter_param": {"brightness": 0.1, "contrast": 0.1,
                                                                    "saturation": 0.1, "hue": 0.1}}},
        "model_params": {"common_params": {"num_kp": 10, "num_channels": 3, "estimate_jacobian": True},
                         "kp_detector_params": {"temperature": 0.1, "block_expansion": 32, "max_features": 1024,
                                                "scale_factor": 0.25, "num_blocks": 5},
                         "generator_params": {"block_expansion": 64, "max_features": 512, "num_down_blocks": 2,
                                              "num_bottleneck_blocks": 6, "estimate_occlusion_map": True,
                                              "dense_motion_params": {"block_expansion": 64, "max_features": 1024,
                                                                      "num_blocks": 5, "scale_factor": 0.25}},
                         "discriminator_params": {"scales": [1], "block_expansion": 32, "max_features": 512,
                                                  "num_blocks": 4, "sn": True}},
        "train_params": {"num_epochs": 100, "num_repeats": 75, "epoch_milestones": [60, 90], "lr_generator": 2.0e-4,
                         "lr_discriminator": 2.0e-4, "lr_kp_detector": 2.0e-4, "batch_size": 40,
                         "scales": [1, 0.5, 0.25, 0.125], "checkpoint_freq": 50,
                         "transform_params": {"sigma_affine": 0.05, "sigma_tps": 0.005, "points_tps": 5},
                         "loss_weights": {"generator_gan": 0, "discriminator_gan": 1, "feature_matching": [0, 0, 0, 0],
                                          "perceptual": [10, 10, 10, 10, 10], "equivariance_value": 10,
                                          "equivariance_jacobian": 10}},
    }
    path = tmp_path / "vox-256.yaml"
    path.write_text(yaml.safe_dump(official))
    cfg = load_train_config(str(path))
    preset = load_train_config("vox-256")
    assert cfg.optim == preset.optim and cfg.transform == preset.transform and cfg.scales == preset.scales
    assert cfg.data.num_repeats == 75 and cfg.data.id_sampling and cfg.data.root == "data/vox-png"
    assert cfg.loss.perceptual == (10.0,) * 5 and cfg.loss.generator_gan == 0
    assert cfg.model == str(path)
