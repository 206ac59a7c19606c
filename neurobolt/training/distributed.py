"""Data-parallel training under ``torchrun``: process group, ranks, and the few collectives we need.

``torchrun --nproc_per_node N -m neurobolt train ...`` sets RANK/WORLD_SIZE/LOCAL_RANK; the same
command without torchrun runs as a single process. NCCL on GPUs, gloo on CPUs. Only rank 0 writes
files; every rank computes the same validation scores (same weights, same windows), so they agree
on the best epoch without broadcasting it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def mean(self, value: float) -> float:
        """The mean of ``value`` over ranks (every rank gets it)."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        if dist.get_backend() == "nccl":
            tensor = tensor.cuda()
        dist.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def all_equal(self, value: float) -> bool:
        """Whether every rank holds the same ``value`` (used by tests to compare weights)."""
        if not self.enabled:
            return True
        tensor = torch.tensor([value, -value], dtype=torch.float64)
        if dist.get_backend() == "nccl":
            tensor = tensor.cuda()
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return float(tensor[0]) == value and float(-tensor[1]) == value


def init_distributed(device_type: str) -> Distributed:
    """Join the process group torchrun set up (no-op for a single process)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    return Distributed(rank=rank, world_size=world_size, local_rank=local_rank)


def shutdown_distributed(state: Distributed) -> None:
    if state.enabled and dist.is_initialized():
        dist.destroy_process_group()
