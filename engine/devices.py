"""Pick the hardware to embed on: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

from engine.errors import UsageError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def pick_device(wanted: str | None = None) -> str:
    """Return the torch device to use; ``wanted`` ('cuda', 'cuda:1', 'mps', 'cpu') overrides 'auto'."""
    if wanted == "cpu":  # always there; torch is a slow import, and the onnx backends ask this
        return "cpu"
    import torch

    if wanted and wanted != "auto":
        kind = wanted.split(":", 1)[0]
        if kind == "cuda" and not torch.cuda.is_available():
            raise UsageError(f"--device {wanted}: CUDA is not available on this machine (use --device cpu or auto)")
        if kind == "mps" and not _mps_available(torch):
            raise UsageError(f"--device {wanted}: Apple MPS is not available on this machine (use --device cpu or auto)")
        if kind not in ("cuda", "mps", "cpu"):
            raise UsageError(f"--device {wanted}: unknown device (choose from {', '.join(DEVICE_CHOICES)})")
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    if _mps_available(torch):
        return "mps"
    return "cpu"


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())

