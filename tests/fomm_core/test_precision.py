"""fomm_core.precision: bf16 where the hardware computes it natively, float32 elsewhere."""

from __future__ import annotations

import pytest
import torch

from fomm_core import precision
from fomm_core.errors import InputError
from fomm_core.fomm_renderer import FommRenderer
from fomm_core.model import FommModel

from fomm_tiny import TINY_SIZE, perturb, tiny_config


@pytest.fixture()
def fake_cpuinfo(tmp_path, monkeypatch):
    def write(flags: str):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        monkeypatch.setattr(precision, "CPUINFO", path)
        precision.cpu_has_fast_bf16.cache_clear()

    yield write
    precision.cpu_has_fast_bf16.cache_clear()


@pytest.mark.parametrize("flags, expected", [
    ("fpu sse2 avx2 avx512f", "fp32"), ("fpu avx512f avx512_bf16", "bf16"), ("fpu amx_tile amx_bf16", "bf16"),
])
def test_auto_reads_the_cpu_flags(fake_cpuinfo, flags, expected):
    fake_cpuinfo(flags)
    assert precision.resolve_precision("auto", "cpu") == expected
    assert precision.resolve_precision("fp32", "cpu") == "fp32"  # an explicit choice always wins
    assert precision.resolve_precision("bf16", "cpu") == "bf16"


def test_unknown_precision_is_a_clear_error():
    with pytest.raises(InputError, match="precision must be one of auto, fp32, bf16"):
        precision.resolve_precision("half", "cpu")


def test_bf16_renderer_is_channels_last_and_close_to_fp32():
    model = FommModel(tiny_config()).eval()
    perturb(model)
    torch.manual_seed(0)
    source = torch.rand(1, 3, TINY_SIZE, TINY_SIZE)
    fp32 = FommRenderer(model)
    assert fp32.precision == "fp32"  # library default: float32 unless asked
    state = fp32.prepare(source)
    reference = fp32.render(state, state.keypoints)
    fast = FommRenderer(model, precision="bf16")
    conv = fast.model.generator.first.conv.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    frames = fast.render(fast.prepare(source), state.keypoints)
    assert frames.dtype == torch.float32
    assert 0 < (frames - reference).abs().mean() < 2 / 255
    fast.set_precision("fp32")
    assert fast.model.generator.first.conv.weight.is_contiguous()
