"""Whether torch could see a CUDA device here, decided without importing torch.

Importing torch costs a second or more of CPU; ``--device auto`` on a machine that
cannot have a GPU should not pay it in the grader's own process (the worker template
imports torch anyway). A GPU is ruled out when

- ``CUDA_VISIBLE_DEVICES`` is set and hides every device (empty, or its first entry is
  ``-1``: CUDA enumerates the listed devices up to the first invalid one), or
- none of the device files a GPU runtime opens exists: ``/dev/nvidiactl`` and
  ``/proc/driver/nvidia`` (the NVIDIA driver, native or passed into a container),
  ``/dev/dxg`` (CUDA under WSL2), ``/dev/kfd`` (ROCm builds of torch, which answer
  through ``torch.cuda`` too).

Otherwise torch is asked (``torch.cuda.is_available()``). One case is knowingly read as
"no GPU": a driver whose kernel module is loaded on first use (``nvidia-modprobe``, no
device file yet); ``--device auto`` then grades on the CPU, and ``--device cuda`` still
asks torch.
"""
import os

GPU_FILES = ("/dev/nvidiactl", "/proc/driver/nvidia", "/dev/dxg", "/dev/kfd")


def why_no_cuda() -> str:
    """Why no CUDA device can be visible to torch here, in words; "" when one might be."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.split(",")[0].strip() in ("", "-1"):
        return f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU"
    if not any(os.path.exists(path) for path in GPU_FILES):
        return f"no GPU driver here (none of {', '.join(GPU_FILES)} exists)"
    return ""
