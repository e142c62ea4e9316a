"""Crucible's helper for train jobs, on PYTHONPATH of every run the agent launches with torchrun.

    import crucible_train
    dist.init_process_group(crucible_train.backend())
    ...
    start = crucible_train.resume(model, optimizer)         # 0, or the step a validator resumes at
    for step in range(start + 1, steps + 1):
        ...                                                 # data for a step must follow from (rank, step) alone
        crucible_train.checkpoint(model, step, optimizer)   # every K steps, on every rank

`checkpoint` records the weights' digest and fingerprint for the agent to report, and saves the state (weights and
optimizer) among the outputs so that a validator can resume there. Data-parallel replicas hold the same weights after
every optimizer step, so the members of one gang report the same digests. A validator re-runs one segment between two
checkpoints as all of the gang's ranks on one node, and must end near the same weights: the fingerprint (the weights
projected on fixed pseudo-random directions) tolerates float rounding, not different training.
"""
import hashlib
import json
import os
import sys

FINGERPRINT_SIZE = 16
_CHUNK = 1 << 20


def backend():
    """nccl on GPU nodes, gloo on CPU, as the agent chose for this run."""
    return os.environ.get("CRUCIBLE_DIST_BACKEND", "gloo")


def _module(model):
    return getattr(model, "module", model)  # DistributedDataParallel wraps the model


def weights_digest(model):
    """SHA-256 over each tensor of the state: name, dtype, shape and bytes, in name order."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(_module(model).state_dict().items()):
        data = tensor.detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(data.dtype).encode())
        digest.update(repr(tuple(data.shape)).encode())
        digest.update(data.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def fingerprint(model):
    """The weights, every tensor in name order, projected on FINGERPRINT_SIZE fixed ±1 directions (float64)."""
    import torch

    total = torch.zeros(FINGERPRINT_SIZE, dtype=torch.float64)
    for index, (_, tensor) in enumerate(sorted(_module(model).state_dict().items())):
        flat = tensor.detach().cpu().reshape(-1).to(torch.float64)
        generator = torch.Generator().manual_seed(1_000_003 * (index + 1))
        for start in range(0, flat.numel(), _CHUNK):
            chunk = flat[start:start + _CHUNK]
            signs = torch.randint(0, 2, (FINGERPRINT_SIZE, chunk.numel()), generator=generator).to(torch.float64) * 2 - 1
            total += signs @ chunk
    return [float(value) for value in total]


def resume(model, optimizer=None):
    """Loads the state a validator resumes from and returns its step; 0 when the run starts from the beginning."""
    path = os.environ.get("CRUCIBLE_RESUME_STATE")
    if not path:
        return 0
    import torch

    state = torch.load(path, map_location="cpu")
    _module(model).load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    return int(state["step"])


def checkpoint(model, step, optimizer=None):
    """Records the weights at `step` (steps must rise), saves the state to resume from, and returns the digest. At the
    step a validator was asked to stop at, the process ends here."""
    import torch

    digest = weights_digest(model)
    if int(os.environ.get("RANK", "0")) == 0 and os.environ.get("CRUCIBLE_OUTPUT_DIR"):
        folder = os.path.join(os.environ["CRUCIBLE_OUTPUT_DIR"], "checkpoints")
        os.makedirs(folder, exist_ok=True)
        state = {"step": int(step), "model": _module(model).state_dict(),
                 "optimizer": optimizer.state_dict() if optimizer is not None else None}
        torch.save(state, os.path.join(folder, "step-%d.pt" % int(step)))
    path = os.environ.get("CRUCIBLE_CHECKPOINT_FILE")
    if path and int(os.environ.get("LOCAL_RANK", "0")) == 0:
        with open(path, "a") as out:
            out.write(json.dumps({"step": int(step), "digest": digest, "fingerprint": fingerprint(model)}) + "\n")
    stop = os.environ.get("CRUCIBLE_STOP_STEP")
    if stop is not None and int(step) >= int(stop):
        sys.stdout.flush()
        os._exit(0)
    return digest
