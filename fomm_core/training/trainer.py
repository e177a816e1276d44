"""The FOMM trainer: one process or many (``torchrun``), resumable, logged to TensorBoard.

Per step (as the official ``train.py``): draw the random transform, run keypoint detector and generator
(train mode, batch statistics), sum the generator-side losses, step the generator and keypoint-detector
Adam optimisers, then (GAN configs only) step the discriminator on the detached prediction. MultiStepLR
steps once per epoch. Checkpoints every ``checkpoint_every`` steps hold everything needed to continue
exactly where the run stopped; the final networks are written with ``save_pretrained``.
"""

from __future__ import annotations

import logging
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..errors import InputError
from .checkpoint import Position, latest_checkpoint, load_checkpoint, position_of, save_checkpoint
from ..config import FommConfig
from .config import TrainConfig, to_dict
from .data import EpochBatchSampler, FramePairDataset, collate_pairs, scan_videos, split_folder
from .networks import MotionPair, build_model, load_initial_weights, resolve_model_config, save_model
from .objective import Objective
from .runtime import DistInfo, MetricsLog, set_rng_state, setup_distributed
from .transform import RandomTransform
from .vgg import VGG19Features, resolve_vgg_file
from .visualize import training_picture

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
FINAL_DIR = "final"
TENSORBOARD_DIR = "tensorboard"
SKIPPED_FILE = "skipped_videos.txt"
#: Large prime mixing the seed, the step and the rank into one per-step transform seed.
SEED_STRIDE = 1_000_003
SECONDS_PER_MINUTE = 60.0
#: Smallest image VGG19 takes to relu5_1 (four 2x2 max pools).
VGG_MIN_SIZE = 16


@dataclass
class StepRecord:
    """What one step logged (rank 0's values)."""

    step: int
    epoch: int
    loss: float
    terms: Dict[str, float]
    discriminator: Optional[float] = None


@dataclass
class TrainResult:
    """How a run ended: ``position`` reached, whether every epoch was done, where the model is."""

    position: Position
    finished: bool
    final_dir: Optional[Path]
    records: List[StepRecord] = field(default_factory=list)


def check_reconstruction_loss(config: TrainConfig) -> None:
    """Refuse to start without a VGG file unless L1 reconstruction is asked for explicitly."""
    loss = config.loss
    if loss.uses_perceptual and not config.vgg:
        raise InputError(
            "no VGG19 weight file for the perceptual loss: set `vgg` to a local vgg19-dcbb9e9d.pth (or its URL), "
            "or ask for L1 reconstruction explicitly (loss.perceptual all 0 and loss.reconstruction_l1 > 0)"
        )
    if not loss.uses_perceptual and loss.reconstruction_l1 == 0:
        raise InputError("no reconstruction loss: set a perceptual weight (with `vgg`) or loss.reconstruction_l1 > 0")


def check_pyramid_sizes(config: TrainConfig) -> None:
    """VGG19 pools four times before relu5_1: every perceptual pyramid level needs at least 16 pixels."""
    if not config.loss.uses_perceptual:
        return
    for scale in config.scales:
        side = int(config.data.frame_size * scale)
        if side < VGG_MIN_SIZE:
            raise InputError(
                f"pyramid scale {scale} of {config.data.frame_size}-pixel frames gives {side} pixels, too small for the "
                f"perceptual loss (VGG19 needs at least {VGG_MIN_SIZE}); drop that scale from `scales`"
            )


def warn_on_motion_resize(model: FommConfig) -> None:
    """The generator resizes the deformation bilinearly (align_corners False, as the official code) when
    the dense motion and the encoder features differ in size; that resize is not an exact identity, which
    slows learning. vox-256 avoids it (both 64x64); say so when a config does not."""
    gen = model.generator
    if gen.dense_motion is None:
        return
    features = model.image_size // (2 ** gen.num_down_blocks)
    motion = int(model.image_size * gen.dense_motion.scale_factor)
    if features != motion:
        logger.warning(
            "dense motion runs at %dx%d but generator features are %dx%d: the deformation is resized on the feature "
            "path (set dense_motion.scale_factor = 1 / 2**num_down_blocks to avoid it)", motion, motion, features, features)


class Trainer:
    """Builds everything from a :class:`TrainConfig` and runs it (see module docstring)."""

    def __init__(self, config: TrainConfig, dist_info: Optional[DistInfo] = None):
        check_reconstruction_loss(config)
        self.config = config
        self.dist = dist_info or setup_distributed()
        self.device = self.dist.device
        self.output_dir = Path(config.output_dir)
        self.model_config = resolve_model_config(config.model)
        if config.data.frame_size != self.model_config.image_size:
            raise InputError(
                f"data.frame_size {config.data.frame_size} differs from the model's image_size "
                f"{self.model_config.image_size}"
            )
        check_pyramid_sizes(config)
        warn_on_motion_resize(self.model_config)
        self.align_corners = self.model_config.generator.align_corners
        self.use_bf16 = config.bf16 and self.device.type == "cuda"
        self._build_data()
        self._build_networks()
        self._build_optimisers()
        self.position = Position()
        self.writer = None

    # ------------------------------------------------------------------------------------------- setup

    def _build_data(self) -> None:
        cfg = self.config
        if not cfg.data.root:
            raise InputError("data.root is not set (a folder of videos, or with train/ and test/ inside)")
        scan = scan_videos(split_folder(Path(cfg.data.root), "train"))
        self.skipped = scan.skipped
        self.dataset = FramePairDataset(scan.videos, cfg.data, seed=cfg.seed)
        self.sampler = EpochBatchSampler(len(self.dataset), cfg.optim.batch_size, cfg.seed,
                                         self.dist.rank, self.dist.world_size)
        if self.dist.is_main:
            for path, reason in self.skipped:
                logger.warning("skipped %s: %s", path, reason)
            logger.info("%d videos (%d skipped), %d batches per epoch", len(scan.videos), len(self.skipped),
                        self.sampler.batches_per_epoch())

    def _build_networks(self) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)  # identical initial weights on every rank
        self.nets = build_model(self.model_config, with_discriminator=cfg.loss.uses_gan)
        if cfg.init_from:
            load_initial_weights(self.nets, cfg.init_from)
        if self.dist.distributed and self.device.type == "cuda":
            self.nets.kp_detector = nn.SyncBatchNorm.convert_sync_batchnorm(self.nets.kp_detector)
            self.nets.generator = nn.SyncBatchNorm.convert_sync_batchnorm(self.nets.generator)
        elif self.dist.distributed:
            logger.warning("CPU processes: batch-norm statistics stay per process (SyncBatchNorm needs GPUs)")
        self.nets.to(self.device)
        self.pair = MotionPair(self.nets.kp_detector, self.nets.generator).train()
        self.pair_ddp: nn.Module = self.pair
        self.disc_ddp: Optional[nn.Module] = self.nets.discriminator
        if self.nets.discriminator is not None:
            self.nets.discriminator.train()
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.pair_ddp = DistributedDataParallel(self.pair, device_ids=ids)
            if self.nets.discriminator is not None:
                self.disc_ddp = DistributedDataParallel(self.nets.discriminator, device_ids=ids)
        vgg = None
        if cfg.loss.uses_perceptual:
            vgg = VGG19Features.from_file(resolve_vgg_file(cfg.vgg, cfg.vgg_cache_dir))
        disc_scales = self.model_config.discriminator.scales if cfg.loss.uses_gan else ()
        self.objective = Objective(cfg.loss, cfg.scales, self.model_config.kp_detector.num_channels, vgg,
                                   disc_scales).to(self.device)

    def _adam(self, module: nn.Module, lr: float) -> torch.optim.Adam:
        return torch.optim.Adam(module.parameters(), lr=lr, betas=tuple(self.config.optim.betas))

    def _build_optimisers(self) -> None:
        optim = self.config.optim
        self.optimizers: Dict[str, torch.optim.Optimizer] = {
            "generator": self._adam(self.nets.generator, optim.lr_generator),
            "kp_detector": self._adam(self.nets.kp_detector, optim.lr_kp_detector),
        }
        if self.nets.discriminator is not None:
            self.optimizers["discriminator"] = self._adam(self.nets.discriminator, optim.lr_discriminator)
        self.schedulers = {
            name: torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(optim.milestones), gamma=optim.gamma)
            for name, opt in self.optimizers.items()
        }

    # ------------------------------------------------------------------------------------------ resume

    def _network_states(self) -> Dict[str, dict]:
        states = {"kp_detector": self.nets.kp_detector.state_dict(), "generator": self.nets.generator.state_dict()}
        if self.nets.discriminator is not None:
            states["discriminator"] = self.nets.discriminator.state_dict()
        for name in self.optimizers:
            states[f"optimizer_{name}"] = self.optimizers[name].state_dict()
            states[f"scheduler_{name}"] = self.schedulers[name].state_dict()
        return states

    def save_checkpoint(self) -> Optional[Path]:
        """Rank 0 writes a checkpoint of the current position; every rank waits for it."""
        path = None
        if self.dist.is_main:
            path = save_checkpoint(self.output_dir, self.position, self._network_states(), to_dict(self.config))
            logger.info("checkpoint %s", path)
        self.dist.barrier()
        return path

    def _load_states(self, payload: dict) -> None:
        self.nets.kp_detector.load_state_dict(payload["kp_detector"])
        self.nets.generator.load_state_dict(payload["generator"])
        if self.nets.discriminator is not None:
            self.nets.discriminator.load_state_dict(payload["discriminator"])
        for name in self.optimizers:
            self.optimizers[name].load_state_dict(payload[f"optimizer_{name}"])
            self.schedulers[name].load_state_dict(payload[f"scheduler_{name}"])

    def resume(self) -> bool:
        """Continue from the newest checkpoint in ``output_dir`` if there is one."""
        path = latest_checkpoint(self.output_dir)
        if path is None:
            return False
        payload = load_checkpoint(path)
        try:
            self._load_states(payload)
        except (KeyError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{path}: does not fit this training config ({first}); use another output folder") from None
        set_rng_state(payload["rng"])
        self.position = position_of(payload)
        if self.dist.is_main:
            logger.info("resumed from %s (step %d, epoch %d)", path, self.position.step, self.position.epoch)
        return True

    # -------------------------------------------------------------------------------------------- step

    def _transform(self, batch_size: int) -> Optional[RandomTransform]:
        if not self.objective.needs_transform:
            return None
        seed = (self.config.seed * SEED_STRIDE + self.position.step) * SEED_STRIDE + self.dist.rank
        generator = torch.Generator().manual_seed(seed)
        return RandomTransform.sample(batch_size, self.config.transform, generator).to(self.device)

    def _autocast(self):
        if self.use_bf16:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return nullcontext()

    def train_step(self, source: torch.Tensor, driving: torch.Tensor) -> StepRecord:
        """One optimisation step on a batch ``(B, 3, S, S)`` x 2 in [0, 1]."""
        source = source.to(self.device, non_blocking=True)
        driving = driving.to(self.device, non_blocking=True)
        transform = self._transform(source.shape[0])
        transformed = None if transform is None else transform.transform_frame(driving, self.align_corners)
        disc = self.nets.discriminator
        if disc is not None:
            disc.requires_grad_(False)  # the generator step does not train the discriminator
        with self._autocast():
            out = self.pair_ddp(source, driving, transformed)
            losses = self.objective.generator_losses(out, driving, transform, disc)
            total = losses.total()
        total.backward()
        for name in ("generator", "kp_detector"):
            self.optimizers[name].step()
            self.optimizers[name].zero_grad(set_to_none=True)
        disc_value = None
        if disc is not None:
            disc.requires_grad_(True)
            with self._autocast():
                disc_loss = self.objective.discriminator_loss(out, driving, self.disc_ddp)
            disc_loss.backward()
            self.optimizers["discriminator"].step()
            self.optimizers["discriminator"].zero_grad(set_to_none=True)
            disc_value = disc_loss.item()
        terms = {k: v.item() for k, v in losses.terms().items()}
        self._last = (source.detach(), driving.detach(), out.prediction.detach(), out.kp_source.value.detach(),
                      out.kp_driving.value.detach())
        return StepRecord(self.position.step, self.position.epoch, total.item(), terms, disc_value)

    # --------------------------------------------------------------------------------------------- log

    def _log(self, record: StepRecord) -> None:
        if not self.dist.is_main:
            return
        line = {"step": record.step, "epoch": record.epoch, "loss": record.loss, **record.terms,
                "lr": self.optimizers["generator"].param_groups[0]["lr"]}
        if record.discriminator is not None:
            line["discriminator_gan"] = record.discriminator
        MetricsLog(self.output_dir / METRICS_FILE).append(line)
        cfg = self.config
        if self.writer is not None and record.step % cfg.log_every == 0:
            self.writer.add_scalar("loss/total", record.loss, record.step)
            for name, value in record.terms.items():
                self.writer.add_scalar(f"loss/{name}", value, record.step)
            if record.discriminator is not None:
                self.writer.add_scalar("loss/discriminator_gan", record.discriminator, record.step)
            self.writer.add_scalar("lr", line["lr"], record.step)
        if self.writer is not None and record.step % cfg.image_every == 0:
            picture = training_picture(*self._last)
            self.writer.add_image("source|driving|prediction", picture, record.step)

    def _open_logs(self) -> None:
        if not self.dist.is_main:
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        MetricsLog(self.output_dir / METRICS_FILE).repair(drop_from_step=self.position.step)
        if self.skipped:
            text = "".join(f"{path}\t{reason}\n" for path, reason in self.skipped)
            (self.output_dir / SKIPPED_FILE).write_text(text, encoding="utf-8")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.output_dir / TENSORBOARD_DIR), purge_step=self.position.step)

    # --------------------------------------------------------------------------------------------- run

    def _loader(self) -> DataLoader:
        workers = self.config.data.num_workers
        return DataLoader(self.dataset, batch_sampler=self.sampler, num_workers=workers, collate_fn=collate_pairs,
                          pin_memory=self.device.type == "cuda", persistent_workers=False)

    def _should_stop(self, started: float) -> bool:
        cfg = self.config
        if cfg.max_steps is not None and self.position.step >= cfg.max_steps:
            return True
        if cfg.max_minutes is not None:
            elapsed = torch.tensor(time.monotonic() - started)
            if self.dist.distributed:  # every rank must agree, or the collectives hang
                torch.distributed.all_reduce(elapsed, op=torch.distributed.ReduceOp.MAX)
            return elapsed.item() >= cfg.max_minutes * SECONDS_PER_MINUTE
        return False

    def _step_schedulers(self) -> None:
        with warnings.catch_warnings():
            # resuming exactly at an epoch end steps the schedulers before any optimiser step of this process
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)` before")
            for scheduler in self.schedulers.values():
                scheduler.step()

    def run(self, resume: bool = True, on_step: Optional[Callable[[StepRecord], None]] = None) -> TrainResult:
        """Train until every epoch is done, ``max_steps`` or ``max_minutes``; returns how it ended."""
        if resume:
            self.resume()
        self._open_logs()
        cfg = self.config
        started = time.monotonic()
        records: List[StepRecord] = []
        # a run resumed at its step limit trains no further step
        stopped = cfg.max_steps is not None and self.position.step >= cfg.max_steps
        while self.position.epoch < cfg.optim.epochs and not stopped:
            self.sampler.set_position(self.position.epoch, self.position.batch_in_epoch)
            for source, driving in self._loader():
                record = self.train_step(source, driving)
                self.position.step += 1
                self.position.batch_in_epoch += 1
                records.append(record)
                self._log(record)
                if on_step is not None:
                    on_step(record)
                stopped = self._should_stop(started)
                if stopped or self.position.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
                if stopped:
                    break
            if not stopped:
                self.position.epoch += 1
                self.position.batch_in_epoch = 0
                self._step_schedulers()
        finished = self.position.epoch >= cfg.optim.epochs
        if finished:
            self.save_checkpoint()
        final_dir = self.output_dir / FINAL_DIR
        self.save_model(final_dir)
        if self.writer is not None:
            self.writer.close()
        return TrainResult(self.position, finished, final_dir, records)

    def save_model(self, folder: Path) -> None:
        """``save_pretrained`` of the networks as they are now (rank 0 only)."""
        if self.dist.is_main:
            save_model(self.nets, folder)
        self.dist.barrier()
