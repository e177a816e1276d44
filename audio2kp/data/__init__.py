"""Training data for audio2kp: the clip shard format (written by ``prepare`` and ``synth-corpus``)."""

from .shards import ClipShard, ShardError, list_shards, openness_to_closure, read_shard, write_manifest, write_shard

__all__ = ["ClipShard", "ShardError", "list_shards", "openness_to_closure", "read_shard", "write_manifest", "write_shard"]
