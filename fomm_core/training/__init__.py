"""Training the First Order Motion Model: data, losses, the resumable (distributed) trainer, evaluation.

Public API::

    from fomm_core.training import Trainer, load_train_config
    result = Trainer(load_train_config("vox-256")).run()      # result.final_dir: a FommModel folder

Modules: ``config`` (typed configs and presets), ``data`` / ``video_io`` / ``augment`` (frame pairs from
videos), ``transform`` (random TPS), ``losses`` / ``objective`` / ``vgg`` (loss terms), ``networks``
(what DDP wraps), ``trainer``, ``checkpoint``, ``runtime`` (processes, RNG, rotation, metrics; shared with audio2kp), ``evaluation``, ``visualize``.
"""

from .config import TrainConfig, load_train_config
from .evaluation import copy_source_l1, evaluate_reconstruction
from .trainer import Trainer, TrainResult

__all__ = ["TrainConfig", "Trainer", "TrainResult", "copy_source_l1", "evaluate_reconstruction", "load_train_config"]
