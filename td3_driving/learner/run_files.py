"""A training run's files on disk: checkpoints, the policy artifact, TensorBoard, results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from td3_driving.core.files import atomic_write

_CKPT = re.compile(r"^ckpt_(\d{12})\.pt$")


class RunDir:
    """A training run's files: checkpoints/, policy.safetensors, tb/, results.json."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.checkpoints = self.root / "checkpoints"
        self.policy = self.root / "policy.safetensors"
        self.tensorboard = self.root / "tb"
        self.results = self.root / "results.json"

    def create(self) -> None:
        self.checkpoints.mkdir(parents=True, exist_ok=True)

    def checkpoint_path(self, updates: int) -> Path:
        # zero-padded so that names sort like the update counter
        return self.checkpoints / f"ckpt_{updates:012d}.pt"

    def list_checkpoints(self) -> list[Path]:
        """Complete checkpoints, oldest first (writes are atomic: a name means complete)."""
        if not self.checkpoints.is_dir():
            return []
        return sorted(p for p in self.checkpoints.iterdir() if _CKPT.match(p.name))

    def latest_checkpoint(self) -> Path | None:
        found = self.list_checkpoints()
        return found[-1] if found else None

    @staticmethod
    def replay_path(checkpoint: Path) -> Path:
        """Where core.checkpoint saves the replay buffer of ``checkpoint``."""
        return checkpoint.with_name(checkpoint.name + ".replay.npz")

    def prune(self, keep: int) -> list[Path]:
        """Delete all but the newest ``keep`` checkpoints (and their replay files)."""
        removed = self.list_checkpoints()[:-keep] if keep > 0 else []
        for path in removed:
            path.unlink(missing_ok=True)
            self.replay_path(path).unlink(missing_ok=True)
        return removed

    def write_results(self, results: dict[str, Any]) -> None:
        """results.json, atomically (a reader never sees half a file)."""
        text = json.dumps(results, indent=2, sort_keys=True, default=_json_default) + "\n"
        atomic_write(self.results, lambda f: f.write(text.encode()))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):   # numpy / torch scalars
        return value.item()
    raise TypeError(f"results.json: {type(value).__name__} is not JSON-serialisable")
