"""The training loop: the same code on one CPU, one GPU or many (``torchrun`` sets up the processes).

Per step: a batch of random windows (the DistributedSampler gives each process its share), losses, bf16
autocast on GPU, gradient clipping, AdamW, a warm-up + cosine learning rate. Rank 0 logs the loss to
TensorBoard and ``metrics.jsonl``, validates every ``val_every`` steps, and every ``checkpoint_every``
steps all processes save a checkpoint (with their RNG states). A rerun of the same config resumes from
the newest complete checkpoint and continues exactly as if never interrupted. At the end rank 0 writes the
model with ``save_pretrained`` to ``out_dir/model``.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Callable, List, Optional

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from fomm_core.config_io import write_config
from fomm_core.errors import InputError
from fomm_core.training.runtime import (
    DistInfo, MetricsLog, cleanup_distributed, seed_everything, set_rng_state, setup_distributed,
)

from ..audio import MODEL_SAMPLE_RATE
from ..model import Audio2KP, Audio2KPConfig
from . import checkpoint
from .config import TrainConfig
from .dataset import WindowDataset, collate, select_shards
from .losses import compute_losses

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
TRAIN_CONFIG_FILE = "train_config.json"
BAD_SHARDS_FILE = "bad_shards.txt"
MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoints"
#: Seed offset of the validation windows (so they differ from training draws).
VAL_SEED_OFFSET = 1_000_003


def lr_lambda(cfg: TrainConfig) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay from 1 to ``min_lr_ratio`` over the remaining steps."""

    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class Trainer:
    """One process's share of a training run (see the module docstring)."""

    def __init__(self, cfg: TrainConfig, rt: DistInfo):
        self.cfg, self.rt = cfg, rt
        self.out = Path(cfg.out_dir)
        self.ckpt_root = self.out / CHECKPOINT_DIR
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        if cfg.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True, warn_only=True)
        seed_everything(cfg.seed)
        self._build_data()
        self._build_model()
        self.step = 0
        self.writer = None

    # -- setup -----------------------------------------------------------------------------------------

    def _build_data(self) -> None:
        cfg = self.cfg
        if not Path(cfg.data_dir).is_dir():
            raise InputError(f"{cfg.data_dir}: no such data folder")
        sel = select_shards(cfg.data_dir, cfg.window_frames, cfg.val_dir, cfg.val_fraction)
        self.skipped = sel.skipped
        if self.rt.is_main:
            self._report_skipped()
        if not sel.train:
            raise InputError(f"{cfg.data_dir}: no usable training clips ({len(sel.skipped)} skipped, see {BAD_SHARDS_FILE})")
        first = sel.train[0]
        self.num_keypoints, self.fps = first.num_keypoints, first.fps
        self.model_config = Audio2KPConfig.from_dict({**cfg.model, "num_keypoints": self.num_keypoints, "fps": self.fps})
        self.context = int(math.ceil(self.model_config.audio_context_s * MODEL_SAMPLE_RATE))
        per_epoch = cfg.windows_per_epoch or sum(c.num_frames for c in sel.train) // cfg.window_frames
        per_epoch = max(per_epoch, cfg.batch_size * self.rt.world_size)
        self.train_set = WindowDataset(sel.train, cfg.window_frames, self.context, per_epoch, cfg.seed,
                                       cfg.source_frame, cfg.gain_db)
        self.val_set = None
        if sel.val:
            self.val_set = WindowDataset(sel.val, cfg.window_frames, self.context, cfg.val_windows,
                                         cfg.seed + VAL_SEED_OFFSET, cfg.source_frame, None)
        self.sampler = DistributedSampler(self.train_set, num_replicas=self.rt.world_size, rank=self.rt.rank,
                                          shuffle=True, seed=cfg.seed, drop_last=True)
        self.steps_per_epoch = len(self.sampler) // cfg.batch_size
        if self.steps_per_epoch < 1:
            raise InputError(f"training config: batch_size {cfg.batch_size} is more than the {len(self.sampler)} windows per epoch")
        logger.info("%d training clips, %d validation clips, %d skipped", len(sel.train), len(sel.val), len(sel.skipped))

    def _report_skipped(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        lines = [f"{path}\t{reason}" for path, reason in self.skipped]
        for line in lines:
            logger.warning("skipped shard %s", line)
        (self.out / BAD_SHARDS_FILE).write_text("".join(f"{line}\n" for line in lines))

    def _build_model(self) -> None:
        cfg = self.cfg
        self.model = Audio2KP(self.model_config).to(self.rt.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.params = params
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(cfg))
        self.net = self.model
        if self.rt.distributed:
            ids = [self.rt.device.index] if self.rt.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.autocast = self.rt.device.type == "cuda" and cfg.bf16

    # -- checkpoints -----------------------------------------------------------------------------------

    def resume(self) -> bool:
        """Load the newest complete checkpoint, if any. Returns whether one was loaded."""
        folder = checkpoint.latest_checkpoint(self.ckpt_root)
        if folder is None:
            return False
        state, rng = checkpoint.load(folder, self.rt.rank)
        self.model.load_state_dict(state["model"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        if rng is not None:
            set_rng_state(rng)
        logger.info("resumed from %s (step %d)", folder, self.step)
        return True

    def save_checkpoint(self) -> None:
        tmp = checkpoint.temp_dir(self.ckpt_root, self.step)
        if self.rt.is_main:
            if tmp.exists():
                import shutil

                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
        self.rt.barrier()
        checkpoint.save_rng(tmp, self.rt.rank)
        self.rt.barrier()
        if self.rt.is_main:
            state = {
                "model": {k: v for k, v in self.model.state_dict().items() if not k.startswith("encoder.model.")},
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step,
            }
            checkpoint.finish(tmp, self.ckpt_root, self.step, state, self.cfg.keep_checkpoints)
        self.rt.barrier()

    # -- the loop --------------------------------------------------------------------------------------

    def batches(self, start_step: int):
        """Batches for steps ``start_step, start_step + 1, ...`` (the same ones a run from 0 would see)."""
        cfg = self.cfg
        epoch, skip = divmod(start_step, self.steps_per_epoch)
        while True:
            self.sampler.set_epoch(epoch)
            ids = [epoch * len(self.train_set) + i for i in self.sampler]  # global sample ids
            groups = [ids[k * cfg.batch_size : (k + 1) * cfg.batch_size] for k in range(skip, self.steps_per_epoch)]
            loader = DataLoader(self.train_set, batch_sampler=groups, collate_fn=collate, num_workers=cfg.num_workers,
                                generator=torch.Generator().manual_seed(cfg.seed + epoch),
                                pin_memory=self.rt.device.type == "cuda")
            yield from loader
            epoch, skip = epoch + 1, 0

    def train_step(self, batch) -> dict:
        self.net.train()
        batch = batch.to(self.rt.device)
        terms = compute_losses(self.net, batch, self.cfg.loss, self.fps, self.context, MODEL_SAMPLE_RATE, self.autocast)
        self.optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        out = terms.as_floats()
        out["grad_norm"] = float(grad_norm)
        return out

    @torch.no_grad()
    def validate(self) -> Optional[dict]:
        if self.val_set is None:
            return None
        self.model.eval()
        loader = DataLoader(self.val_set, batch_size=self.cfg.batch_size, collate_fn=collate,
                            num_workers=self.cfg.num_workers)
        sums, count = {}, 0
        for batch in loader:
            terms = compute_losses(self.model, batch.to(self.rt.device), self.cfg.loss, self.fps, self.context,
                                   MODEL_SAMPLE_RATE, self.autocast).as_floats()
            n = batch.audio.shape[0]
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v * n
            count += n
        return {k: v / count for k, v in sums.items()}

    def log(self, kind: str, values: dict) -> None:
        if not self.rt.is_main:
            return
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.out / "tensorboard"))
        for k, v in values.items():
            self.writer.add_scalar(f"{kind}/{k}", v, self.step)
        MetricsLog(self.out / METRICS_FILE).append({"step": self.step, "kind": kind, **values})

    def run(self, stop_at_step: Optional[int] = None, progress: Optional[Callable[[int, dict], None]] = None) -> Optional[Path]:
        """Train until ``cfg.steps`` (or ``stop_at_step``). Returns the saved model folder when finished."""
        cfg = self.cfg
        if self.rt.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            write_config(self.out / TRAIN_CONFIG_FILE, cfg, "Audio2KPTrainConfig")
            MetricsLog(self.out / METRICS_FILE).repair()
        self.resume()
        end = min(cfg.steps, stop_at_step) if stop_at_step is not None else cfg.steps
        batches = self.batches(self.step)
        while self.step < end:
            values = self.train_step(next(batches))
            self.step += 1
            values = {k: self.rt.mean(v) for k, v in values.items()}
            values["lr"] = self.scheduler.get_last_lr()[0]
            if self.step % cfg.log_every == 0 or self.step == 1:
                self.log("train", values)
            if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                val = self.validate() if self.rt.is_main else None
                if val is not None:
                    self.log("val", val)
                self.rt.barrier()
            if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                self.save_checkpoint()
            if progress is not None and self.rt.is_main:
                progress(self.step, values)
        if self.writer is not None:
            self.writer.flush()
        if self.step >= cfg.steps and self.rt.is_main:
            self.model.save_pretrained(self.out / MODEL_DIR)
            return self.out / MODEL_DIR
        return None


def train(cfg: TrainConfig, stop_at_step: Optional[int] = None,
          progress: Optional[Callable[[int, dict], None]] = None) -> Optional[Path]:
    """Run (or resume) training in this process; under ``torchrun`` every process calls this."""
    rt = setup_distributed(cfg.device)
    try:
        trainer = Trainer(cfg, rt)
        return trainer.run(stop_at_step, progress)
    finally:
        cleanup_distributed()


def read_metrics(out_dir: str | Path, kind: str = "train") -> List[dict]:
    """The logged rows of ``kind``; for steps logged twice (a crash, then a resume) the last one wins."""
    rows = {row["step"]: row for row in MetricsLog(Path(out_dir) / METRICS_FILE).rows() if row.get("kind") == kind}
    return [rows[s] for s in sorted(rows)]
