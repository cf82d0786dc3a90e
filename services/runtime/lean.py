"""What a worker process sets before it imports anything heavy.

- **One thread per pool.** Parallelism comes from replicas (one process per replica), so each
  worker's BLAS and OpenMP pools get one thread: 12 entity replicas on 16 cores would otherwise
  start 192 BLAS threads that burn CPU against each other. Set through the environment, which
  the libraries read when they load; a value the operator set is kept.
- **No machine-learning framework.** spaCy's thinc imports PyTorch, CuPy, TensorFlow or MXNet
  whenever they are installed, for models that need them; ours (a CNN pipeline on CPU) does not.
  Marking them absent in `sys.modules` makes `import torch` fail fast inside thinc, which then
  carries on without it: 600 MB less per process on a machine where PyTorch is installed.
"""

from __future__ import annotations

import os
import sys

THREAD_POOL_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
FRAMEWORKS = ("torch", "cupy", "cupyx", "tensorflow", "mxnet", "jax")
"""Imported by thinc when present; no stage of ours uses them."""


def keep_worker_lean() -> None:
    """Call first thing in a worker process, before numpy, spaCy or thinc are imported."""
    for variable in THREAD_POOL_VARIABLES:
        os.environ.setdefault(variable, "1")
    for name in FRAMEWORKS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]  # 'import torch' raises ImportError
