"""State-dict key names, order, shapes and dtypes equal the official vox-256 manifests; parameter counts."""

from __future__ import annotations

import pytest

from fomm_core.config import preset
from fomm_core.discriminator import MultiScaleDiscriminator
from fomm_core.generator import OcclusionAwareGenerator
from fomm_core.kp_detector import KPDetector

from reference_folder import SHARED

MANIFESTS = SHARED / "fomm"


def read_manifest(name: str):
    rows = []
    for line in (MANIFESTS / name).read_text().splitlines():
        if line.strip():
            module, key, shape, dtype = line.split("\t")
            rows.append((module, key, shape, dtype))
    return rows


def describe(module_name, module):
    rows = []
    for key, t in module.state_dict().items():
        shape = "x".join(str(d) for d in t.shape) or "scalar"
        rows.append((module_name, key, shape, str(t.dtype).replace("torch.", "")))
    return rows


@pytest.fixture(scope="module")
def vox():
    cfg = preset("vox-256")
    return KPDetector(cfg.kp_detector), OcclusionAwareGenerator(cfg.generator)


def test_vox256_manifest(vox):
    kp, gen = vox
    expected = read_manifest("vox256_state_dict_manifest.tsv")
    assert len(expected) == 271
    assert describe("kp_detector", kp) + describe("generator", gen) == expected


def test_vox256_parameter_counts(vox):
    kp, gen = vox
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(kp) == 14_215_368
    assert count(gen) == 45_575_391
    assert count(gen.dense_motion_network) == 37_730_268
    buffers = lambda m: sum(b.numel() for k, b in m.state_dict().items() if k not in dict(m.named_parameters()))
    assert buffers(kp) == 6_469
    assert buffers(gen) == 17_814


@pytest.mark.parametrize(
    "name, manifest, params",
    [
        ("vox-adv-256", "voxadv256_discriminator_state_dict_manifest.tsv", 2_769_089),
        ("vox-256", "vox256_discriminator_state_dict_manifest.tsv", 2_758_849),
    ],
)
def test_discriminator_manifests(name, manifest, params):
    disc = MultiScaleDiscriminator(preset(name).discriminator)
    assert describe("discriminator", disc) == read_manifest(manifest)
    # spectral norm keeps the weight as weight_orig; u and v are buffers, not parameters
    assert sum(p.numel() for p in disc.parameters()) == params
