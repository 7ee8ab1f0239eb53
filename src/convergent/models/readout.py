"""Reading a network's layers: forward hooks at named modules (the read-out points of
:data:`convergent.models.READOUTS`), for dumps and for moments streamed from the forward pass."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import nn


def forward_layers(
    networks: list[nn.Module],
    readouts: dict[str, str] | list[dict[str, str]],
    batches: Iterable[torch.Tensor],
) -> Iterator[tuple[int, int, list[dict[str, torch.Tensor]]]]:
    """Run every network on each batch; yield (first image, image count, per network
    {layer: read-out tensor}) with the read-outs on the networks' device.  ``readouts``: one
    ``{layer: module path}`` for all networks, or one per network."""
    device = next(networks[0].parameters()).device
    per_net = readouts if isinstance(readouts, list) else [readouts] * len(networks)
    captured: list[dict[str, torch.Tensor]] = [{} for _ in networks]
    hooks = [
        net.get_submodule(path).register_forward_hook(
            lambda _m, _i, out, store=store, name=name: store.__setitem__(name, out.detach())
        )
        for net, store, net_readouts in zip(networks, captured, per_net, strict=True)
        for name, path in net_readouts.items()
    ]
    try:
        row = 0
        with torch.inference_mode():
            for x in batches:
                x = x.to(device, non_blocking=True)
                for net in networks:
                    net(x)
                yield row, x.shape[0], [dict(store) for store in captured]
                row += x.shape[0]
    finally:
        for hook in hooks:
            hook.remove()
