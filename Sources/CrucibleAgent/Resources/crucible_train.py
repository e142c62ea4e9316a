"""Crucible's helper for train jobs, on PYTHONPATH of every run the agent launches with torchrun.

    import crucible_train
    dist.init_process_group(crucible_train.backend())
    ...
    crucible_train.checkpoint(model, step)   # every K steps, on every rank

`checkpoint` records a digest of the model's weights for the agent to report. Data-parallel replicas hold the same
weights after every optimizer step, so the members of one gang must report the same digests; a member that did not
train with the others is seen. Only local rank 0 of each member writes (one record per node).
"""
import hashlib
import json
import os


def backend():
    """nccl on GPU nodes, gloo on CPU, as the agent chose for this run."""
    return os.environ.get("CRUCIBLE_DIST_BACKEND", "gloo")


def weights_digest(model):
    """SHA-256 over each tensor of the state: name, dtype, shape and bytes, in name order."""
    import torch

    module = getattr(model, "module", model)  # DistributedDataParallel wraps the model
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        data = tensor.detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(data.dtype).encode())
        digest.update(repr(tuple(data.shape)).encode())
        digest.update(data.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def checkpoint(model, step):
    """Records the weights' digest at `step` (steps must rise) and returns it."""
    value = weights_digest(model)
    path = os.environ.get("CRUCIBLE_CHECKPOINT_FILE")
    if path and int(os.environ.get("LOCAL_RANK", "0")) == 0:
        with open(path, "a") as out:
            out.write(json.dumps({"step": int(step), "digest": value}) + "\n")
    return value
