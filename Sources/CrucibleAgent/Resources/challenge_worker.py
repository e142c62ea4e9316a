#!/usr/bin/env python3
"""Crucible's proof-of-GPU worker. The node agent starts one per challenged device and talks to it in JSON lines
on stdin and stdout:

    {"op": "commit", "seed": "<64 hex>", "n": N, "m": M}  ->  {"root": "<64 hex>", "ms": 123.4}
    {"op": "open", "t": T, "i": I}                         ->  {"t": T, "i": I, "row": [...], "proof": {"steps": [...]}}
    {"op": "hello"}                                        ->  {"engine": "...", "device": "..."}

Errors come back as {"error": "..."}. The challenge is defined in CrucibleProof's ChallengeGenerator: int8
matrices from a counter-based generator, exact int32 products, BLAKE3 of every row, a Merkle tree over all
rows of all products (MerkleTree in CrucibleCore: 0x00 || leaf, 0x01 || left || right, odd nodes promoted).

Engines:
  cuda  PyTorch on an NVIDIA GPU: torch._int_mm for the products; generation, row hashing and Merkle levels
        in CUDA kernels compiled from challenge_kernels.cu and challenge_kernels.h (the header the Swift tests
        check against the challenge vectors).
  cpu   NumPy, exact integer arithmetic: for checking the protocol where there is no GPU.
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import time

MASK = (1 << 64) - 1


def seed_words(seed: bytes):
    return [int.from_bytes(seed[8 * w:8 * w + 8], "little") for w in range(4)]


class CPUEngine:
    name = "cpu"

    def __init__(self):
        import numpy as np
        try:
            import blake3
        except ImportError as error:
            raise RuntimeError("the cpu engine hashes rows with BLAKE3: pip install blake3") from error
        self.np = np
        self.blake3 = blake3.blake3
        self.device = "NumPy on the CPU"

    def _fmix(self, x):
        np = self.np
        x = x ^ (x >> np.uint64(33))
        x = x * np.uint64(0xFF51AFD7ED558CCD)
        x = x ^ (x >> np.uint64(33))
        x = x * np.uint64(0xC4CEB9FE1A85EC53)
        return x ^ (x >> np.uint64(33))

    def matrix(self, words, matrix, t, n):
        """Rows of A_t (matrix 0) or columns of B_t (matrix 1), n×n int8."""
        np = self.np
        blocks = (n + 7) // 8
        rows = np.arange(n, dtype=np.uint64)[:, None]
        cols = np.arange(blocks, dtype=np.uint64)[None, :]
        counter = (np.uint64(matrix) << np.uint64(63)) | (np.uint64(t) << np.uint64(48)) | (rows << np.uint64(24)) | cols
        with np.errstate(over="ignore"):
            h = self._fmix(counter ^ np.uint64(words[0]))
            for word in words[1:]:
                h = self._fmix(h ^ np.uint64(word))
        return h.astype("<u8").view(np.int8).reshape(n, blocks * 8)[:, :n]

    def product(self, words, t, n):
        np = self.np
        a = self.matrix(words, 0, t, n).astype(np.int64)
        b_columns = self.matrix(words, 1, t, n).astype(np.int64)
        return (a @ b_columns.T).astype(np.int32)

    def row_hashes(self, words, t, n):
        np = self.np
        c = self.product(words, t, n).astype("<i4")
        return np.frombuffer(b"".join(self.blake3(row.tobytes()).digest() for row in c), dtype=np.uint8).reshape(n, 32)

    def row(self, words, t, i, n):
        return [int(v) for v in self.product(words, t, n)[i]]

    @staticmethod
    def node(level, index):
        return level[index]

    def merkle_levels(self, row_hashes):
        levels = [[hashlib.sha256(b"\x00" + bytes(h)).digest() for h in row_hashes]]
        while len(levels[-1]) > 1:
            level = levels[-1]
            levels.append([
                hashlib.sha256(b"\x01" + level[k] + level[k + 1]).digest() if k + 1 < len(level) else level[k]
                for k in range(0, len(level), 2)
            ])
        return levels


class CUDAEngine:
    name = "cuda"

    def __init__(self, device_index):
        import torch
        from torch.utils.cpp_extension import load
        if not torch.cuda.is_available():
            raise RuntimeError("PyTorch sees no CUDA device")
        self.torch = torch
        torch.cuda.set_device(device_index)
        self.device = torch.cuda.get_device_name(device_index)
        here = os.path.dirname(os.path.abspath(__file__))
        self.kernels = load(
            name="crucible_challenge_kernels", sources=[os.path.join(here, "challenge_kernels.cu")],
            extra_include_paths=[here], extra_cuda_cflags=["-O3"], verbose=False,
        )

    @staticmethod
    def _signed(words):
        return [w - (1 << 64) if w >= 1 << 63 else w for w in words]

    @staticmethod
    def padded_size(n):
        """torch._int_mm multiplies only when every side is a multiple of 8 and the rows number more than 16."""
        return max(24, (n + 7) // 8 * 8)

    def product(self, words, t, n):
        a = self.kernels.generate(self._signed(words), 0, t, n)
        b_columns = self.kernels.generate(self._signed(words), 1, t, n)
        size = self.padded_size(n)
        if size != n:
            # Zero rows and columns add nothing to the top-left n×n block: the product stays exact.
            pad = self.torch.nn.functional.pad
            a, b_columns = pad(a, (0, size - n, 0, size - n)), pad(b_columns, (0, size - n, 0, size - n))
        # b_columns.t() is B in column-major order, as the int8 tensor-core GEMM wants it.
        c = self.torch._int_mm(a, b_columns.t())
        return c if size == n else c[:n, :n]

    def row_hashes(self, words, t, n):
        return self.kernels.hash_rows(self.product(words, t, n).contiguous())

    def row(self, words, t, i, n):
        torch = self.torch
        a = self.kernels.generate(self._signed(words), 0, t, n)[i].to(torch.float64)
        b_columns = self.kernels.generate(self._signed(words), 1, t, n).to(torch.float64)
        # Integers below 2^53 are exact in float64: the row is exact.
        return [int(v) for v in torch.round(b_columns @ a).to(torch.int64).cpu().tolist()]

    def merkle_levels(self, row_hashes):
        # The levels stay on the GPU; openings copy out the few hashes they need.
        level = self.kernels.merkle_level(row_hashes, True)
        levels = [level]
        while level.size(0) > 1:
            level = self.kernels.merkle_level(level, False)
            levels.append(level)
        return levels

    @staticmethod
    def node(level, index):
        return level[index].cpu().numpy().tobytes()


class Worker:
    def __init__(self, engine):
        self.engine = engine
        self.words = None
        self.n = self.m = 0
        self.levels = None

    def commit(self, request):
        seed = bytes.fromhex(request["seed"])
        if len(seed) != 32:
            raise ValueError("a seed is 32 bytes")
        n, m = int(request["n"]), int(request["m"])
        if not (8 <= n <= 1 << 24 and 1 <= m <= 1 << 15):
            raise ValueError("n must be 8…2^24 and m 1…2^15")
        started = time.perf_counter()
        self.words, self.n, self.m = seed_words(seed), n, m
        hashes = [self.engine.row_hashes(self.words, t, n) for t in range(m)]
        if self.engine.name == "cuda":
            all_hashes = self.engine.torch.cat(hashes)
        else:
            all_hashes = [row for product in hashes for row in product]
        self.levels = self.engine.merkle_levels(all_hashes)
        root = self.engine.node(self.levels[-1], 0)
        return {"root": root.hex(), "ms": (time.perf_counter() - started) * 1000}

    def open(self, request):
        if self.levels is None:
            raise ValueError("commit first")
        t, i = int(request["t"]), int(request["i"])
        if not (0 <= t < self.m and 0 <= i < self.n):
            raise ValueError("no such row")
        steps, position = [], t * self.n + i
        for level in self.levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                steps.append({"sibling": base64.b64encode(self.engine.node(level, sibling)).decode(), "isLeft": sibling < position})
            position //= 2
        return {"t": t, "i": i, "row": self.engine.row(self.words, t, i, self.n), "proof": {"steps": steps}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--device", type=int, default=0)
    args = parser.parse_args()
    try:
        engine = CUDAEngine(args.device) if args.engine == "cuda" else CPUEngine()
    except Exception as error:  # the agent reads why and falls back
        print(json.dumps({"error": f"the {args.engine} engine is unavailable: {error}"}), flush=True)
        return 1
    worker = Worker(engine)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "hello":
                reply = {"engine": engine.name, "device": engine.device}
            elif op == "commit":
                reply = worker.commit(request)
            elif op == "open":
                reply = worker.open(request)
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception as error:
            reply = {"error": str(error)}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
