"""Training audio2kp on clip shards: dataset of random windows, losses, the loop (one CPU, one GPU or many)."""

from .config import TrainConfig, load_train_config

__all__ = ["TrainConfig", "load_train_config"]
