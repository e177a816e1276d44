"""Print the largest absolute error of every FOMM fixture comparison the tests make.

Runs the exact comparisons of ``tests/fomm_core/test_fomm_fixtures.py`` and
``tests/fomm_training/test_fixture_losses.py`` (float32, CPU), but records each error instead of only
checking it against the tolerance, and prints the largest per fixture and group.

    python bench/fomm_fixture_errors.py            # reference folder from TALKING_HEAD_SHARED or ../shared
"""

from __future__ import annotations

import importlib
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

import torch

REPO = Path(__file__).resolve().parents[1]
for folder in (REPO, REPO / "tests", REPO / "tests" / "fomm_core", REPO / "tests" / "fomm_training"):
    sys.path.insert(0, str(folder))

#: (fixture, tensor name) -> max abs error, over every call of a comparison
Errors = Dict[Tuple[str, str], float]


def network_errors() -> Errors:
    """Every tensor comparison of the network fixture tests, with its max abs error."""
    mod = importlib.import_module("test_fomm_fixtures")
    errors: Errors = {}
    current = {"fixture": ""}

    def record(actual: torch.Tensor, expected: torch.Tensor, atol: float, what: str) -> None:
        assert actual.shape == expected.shape, what
        err = (actual.double() - expected.double()).abs().max().item()
        key = (current["fixture"], what.split(" ", 1)[1] if what.startswith("fixture") else what)
        errors[key] = max(errors.get(key, 0.0), err)

    mod.close = record
    for name in mod.FIXTURES:
        current["fixture"] = name
        fixture = mod.load_fixture(name)
        mod.test_keypoints_and_intermediates(fixture)
        mod.test_grid_and_gaussians(fixture)
        mod.test_normalize_kp(fixture)
        for prefix in mod.VARIANTS:
            mod.test_generator_outputs(fixture, prefix)
        if name in mod.TRAINING_FIXTURES:
            mod.test_train_mode_batch_norm(fixture)
            mod.test_discriminator_and_pyramid(fixture)
    return errors


def loss_errors() -> Errors:
    """|ours - official| for every training loss term recorded in the fixtures."""
    mod = importlib.import_module("test_fixture_losses")
    errors: Errors = {}
    names = {"generator_gan": "loss.gen_gan", "feature_matching": "loss.feature_matching",
             "equivariance_value": "loss.equivariance_value",
             "equivariance_jacobian": "loss.equivariance_jacobian"}
    for name in ["fixture_small", "fixture_small_zeroth_order"]:
        data, cfg, kp, gen, disc, weights, tcfg, scales = mod.load(name)
        ref = data["outputs"]
        source, driving = data["inputs"]["source"], data["inputs"]["driving"]
        objective = mod.Objective(weights, scales, discriminator_scales=cfg.discriminator.scales)
        torch.manual_seed(mod.TRANSFORM_SEED)
        transform = mod.RandomTransform.sample(source.shape[0], tcfg)
        transformed = transform.transform_frame(driving, align_corners=False)
        out = mod.MotionPair(kp, gen)(source, driving, transformed)
        got = objective.generator_losses(out, driving, transform, disc).terms()
        for ours, theirs in names.items():
            if theirs in ref and ours in got:
                errors[(name, ours)] = abs(got[ours].item() - ref[theirs].item())
        disc_loss = objective.discriminator_loss(out, driving, disc)
        errors[(name, "discriminator_gan")] = abs(disc_loss.item() - ref["loss.disc_gan"].item())
    return errors


def report(title: str, errors: Errors, top: int) -> None:
    print(f"\n{title}")
    by_fixture: Dict[str, List[Tuple[float, str]]] = defaultdict(list)
    for (fixture, what), err in errors.items():
        by_fixture[fixture].append((err, what))
    print("| fixture | comparisons | max abs error | where | predictions (max) |")
    print("|---|---|---|---|---|")
    for fixture, items in by_fixture.items():
        items.sort(reverse=True)
        preds = [e for e, w in items if w.endswith("prediction")]
        pred = f"{max(preds):.3g}" if preds else "-"
        print(f"| {fixture} | {len(items)} | {items[0][0]:.3g} | {items[0][1]} | {pred} |")
    worst = sorted(((e, f, w) for (f, w), e in errors.items()), reverse=True)[:top]
    print("largest: " + "; ".join(f"{f} {w} {e:.3g}" for e, f, w in worst))


def main() -> None:
    torch.set_grad_enabled(True)
    report("Network outputs (tests/fomm_core/test_fomm_fixtures.py; tolerance 1e-4 images/maps, 1e-5 keypoints)",
           network_errors(), top=5)
    report("Training losses (tests/fomm_training/test_fixture_losses.py; tolerance 1e-4)", loss_errors(), top=5)


if __name__ == "__main__":
    main()
