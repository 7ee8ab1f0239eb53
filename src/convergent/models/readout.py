"""Reading a network's layers: forward hooks at named modules (the read-out points of
:data:`convergent.models.READOUTS`), for dumps and for moments streamed from the forward pass.

What a hook keeps of a module's output: the output itself, or the first element of a tuple
(a transformer block that returns (hidden states, attention, ...)); a module whose output is
channels-last (N, H, W, C) — a Swin stage, marked by its architecture's ``channels_last``
(:data:`CHANNELS_LAST`) — is read as conv (N, C, H, W)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import nn

#: the attribute :meth:`convergent.models.Architecture.build` sets on a network: the module
#: paths whose output is channels-last
CHANNELS_LAST = "convergent_channels_last"


def read_out(output: object, channels_last: bool = False) -> torch.Tensor:
    """The tensor a hook keeps of a module's ``output``, detached."""
    if isinstance(output, tuple | list):
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"the module returns {type(output).__name__}, not a tensor")
    if channels_last:
        if output.ndim != 4:
            raise ValueError(f"a channels-last read-out is (N, H, W, C), not {tuple(output.shape)}")
        output = output.permute(0, 3, 1, 2)
    return output.detach()


def hook(net: nn.Module, path: str, keep) -> torch.utils.hooks.RemovableHandle:
    """A forward hook at module ``path`` of ``net`` calling ``keep(tensor)`` with what
    :func:`read_out` keeps of its output."""
    last = path in getattr(net, CHANNELS_LAST, ())
    return net.get_submodule(path).register_forward_hook(
        lambda _m, _i, out: keep(read_out(out, last)) or None
    )


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
        hook(net, path, lambda out, store=store, name=name: store.__setitem__(name, out))
        for net, store, net_readouts in zip(networks, captured, per_net, strict=True)
        for name, path in net_readouts.items()
    ]
    try:
        row = 0
        for x in batches:
            # inference mode around the forward pass only: held across a yield it would be on
            # in the caller's code too (and stay on if the caller stops early)
            with torch.inference_mode():
                x = x.to(device, non_blocking=True)
                for net in networks:
                    net(x)
            yield row, x.shape[0], [dict(store) for store in captured]
            row += x.shape[0]
    finally:
        for h in hooks:
            h.remove()
