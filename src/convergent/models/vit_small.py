"""A small Vision Transformer (Dosovitskiy et al. 2021) sized to train on Fashion-MNIST on a CPU.

Patches of ``patch_size`` pixels are embedded by one strided convolution, a learned class
token is prepended and learned position embeddings added; ``depth`` pre-norm blocks
(multi-head self-attention, then an MLP of ``mlp_ratio`` × ``width`` with GELU, each a residual
branch) follow; the class token after a final LayerNorm feeds the linear classifier.  No
dropout: at this size the augmentation of the study's training suffices.

Read-out points (``convergent.models.READOUTS``): ``block<k>``, the output of block k — (N, T,
D) tokens with T = 1 + (image side / patch size)², the class token first, so a ``tokens``
layer — and ``head``, the class token after the final LayerNorm, the classifier's input (an fc
layer, as alexnet_small's fc7).  The options (patch size, width, depth, heads) are keywords of
:func:`build`; a config passes them as an architecture's ``options`` (its read-outs then list
the blocks the depth gives).
"""

from __future__ import annotations

import torch
from torch import nn

#: the built-in vit_small's options (also :func:`build`'s defaults)
PATCH_SIZE, WIDTH, DEPTH, HEADS, MLP_RATIO = 7, 64, 6, 4, 2


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, width: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class ClassToken(nn.Module):
    """Token 0 of (N, T, D) tokens: the class token, (N, D)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]


class VisionTransformer(nn.Module):
    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        image_size: int,
        patch_size: int = PATCH_SIZE,
        width: int = WIDTH,
        depth: int = DEPTH,
        heads: int = HEADS,
        mlp_ratio: int = MLP_RATIO,
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(
                f"patch_size {patch_size} does not tile {image_size}-pixel images; choose a "
                f"divisor of {image_size}"
            )
        if width % heads:
            raise ValueError(f"width {width} is not a multiple of heads {heads}")
        tokens = 1 + (image_size // patch_size) ** 2
        self.patches = nn.Conv2d(in_channels, width, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.position = nn.Parameter(torch.randn(1, tokens, width) * 0.02)
        self.blocks = nn.Sequential(*(Block(width, heads, mlp_ratio) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.pool = ClassToken()
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patches(x).flatten(2).transpose(1, 2)  # (N, patches, width), row by row
        x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], dim=1) + self.position
        return self.head(self.pool(self.norm(self.blocks(x))))


def build(num_classes: int, in_channels: int, image_size: int, **options: int) -> nn.Module:
    """A :class:`VisionTransformer`; ``options``: patch_size, width, depth, heads, mlp_ratio."""
    return VisionTransformer(num_classes, in_channels, image_size, **options)

