"""Run under torchrun by test_ddp.py: train, then save this rank's parameters and losses."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from fomm_core.training.config import load_train_config
from fomm_core.training.runtime import cleanup_distributed
from fomm_core.training.trainer import Trainer


def main() -> None:
    config = load_train_config(sys.argv[1])
    trainer = Trainer(config)
    result = trainer.run()
    params = {n: p.detach().clone() for n, p in trainer.nets.named_parameters()}
    losses = torch.tensor([r.loss for r in result.records])
    torch.save({"params": params, "losses": losses, "world_size": trainer.dist.world_size},
               Path(config.output_dir) / f"rank{trainer.dist.rank}.pt")
    cleanup_distributed()


if __name__ == "__main__":
    main()
