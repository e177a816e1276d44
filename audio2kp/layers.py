"""Building blocks of the Audio2KP network: non-causal temporal convolutions and attention over frames."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


class ChannelNorm(nn.LayerNorm):
    """Layer norm over channels of each frame of ``(B, C, T)`` (per frame, so windows do not change it)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)  # (B, C, T) -> (B, T, C) -> back


class ConvBlock(nn.Module):
    """Residual dilated 1-D convolution over frames: ``(B, C, T) -> (B, C, T)``, centred (no lag)."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (a centred window), got {kernel_size}")
        pad = dilation * (kernel_size - 1) // 2
        self.norm = ChannelNorm(channels)
        self.conv = nn.Conv1d(channels, 2 * channels, kernel_size, padding=pad, dilation=dilation)
        self.out = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        a, b = self.conv(self.norm(x)).chunk(2, dim=1)  # gated activation, each (B, C, T)
        return x + self.drop(self.out(torch.tanh(a) * torch.sigmoid(b)))


class TemporalStack(nn.Module):
    """A stack of :class:`ConvBlock` then optional self-attention layers, on ``(B, T, C)``.

    The receptive field of the convolutions is ``radius`` frames on each side.
    """

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int], attention_layers: int,
                 attention_heads: int, dropout: float):
        super().__init__()
        self.convs = nn.ModuleList(ConvBlock(channels, kernel_size, d, dropout) for d in dilations)
        self.radius = sum(d * (kernel_size - 1) // 2 for d in dilations)
        self.attention = None
        if attention_layers > 0:
            layer = nn.TransformerEncoderLayer(
                channels, attention_heads, 2 * channels, dropout, batch_first=True, norm_first=True
            )
            self.attention = nn.TransformerEncoder(layer, attention_layers, enable_nested_tensor=False)

    def forward(self, x: Tensor) -> Tensor:
        h = x.transpose(1, 2)  # (B, T, C) -> (B, C, T)
        for block in self.convs:
            h = block(h)
        h = h.transpose(1, 2)  # (B, C, T) -> (B, T, C)
        if self.attention is not None:
            h = self.attention(h)
        return h
