// CUDA kernels of the proof-of-GPU worker (challenge_worker.py, engine "cuda"), built on the node by
// torch.utils.cpp_extension. The generator, row hash and Merkle levels are challenge_kernels.h, the C that the
// Swift tests check against the challenge vectors; the products are torch._int_mm on the tensor cores.
#include <torch/extension.h>
#include <c10/cuda/CUDAStream.h>
#include "challenge_kernels.h"

__global__ void generate_kernel(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3, uint64_t matrix, uint64_t t, int64_t n, int8_t *out) {
    const uint64_t seed[4] = {s0, s1, s2, s3};
    int64_t blocksPerRow = (n + 7) / 8;
    int64_t index = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= n * blocksPerRow) return;
    int64_t row = index / blocksPerRow, col = (index % blocksPerRow) * 8;
    uint64_t h = crucible_block(seed, matrix, (uint64_t)t, (uint64_t)row, (uint64_t)col);
    for (int o = 0; o < 8 && col + o < n; o++) out[row * n + col + o] = (int8_t)(uint8_t)(h >> (8 * o));
}

// BLAKE3 of rows, a thread per chunk: every chunk's chaining value ([rows, chunks, 8] words; a row of one chunk gets
// its hash), then each level of every row's tree (crucible_b3_level), as crucible_kernels_row_hash_by_levels does on
// the CPU, where the tests check it against the BLAKE3 reference.
__global__ void chunk_kernel(const int32_t *c, int64_t n, int64_t rows, int64_t chunks, uint32_t *out) {
    int64_t index = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= rows * chunks) return;
    int64_t row = index / chunks, chunk = index % chunks;
    crucible_b3_chunk(c + row * n, n, chunk, chunks == 1, out + index * 8);
}

__global__ void row_level_kernel(const uint32_t *level, int64_t rows, int64_t count, int64_t parents, uint32_t *out) {
    int64_t index = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= rows * parents) return;
    int64_t row = index / parents, i = index % parents;
    crucible_b3_level(level + row * count * 8, count, i, parents == 1, out + index * 8);
}

__global__ void merkle_kernel(const uint8_t *level, int64_t count, int leaves, int64_t parents, uint8_t *out) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < parents) crucible_merkle_parent(level, count, i, leaves, out + i * 32);
}

static int blocksFor(int64_t threads) { return (int)((threads + 255) / 256); }

// Matrix 0 (A, rows) or 1 (B, by columns: row j is column j) of product t, n×n int8, on the current device.
torch::Tensor generate(std::vector<int64_t> seed, int64_t matrix, int64_t t, int64_t n) {
    auto out = torch::empty({n, n}, torch::dtype(torch::kInt8).device(torch::kCUDA));
    int64_t threads = n * ((n + 7) / 8);
    generate_kernel<<<blocksFor(threads), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        (uint64_t)seed[0], (uint64_t)seed[1], (uint64_t)seed[2], (uint64_t)seed[3], (uint64_t)matrix, (uint64_t)t, n,
        out.data_ptr<int8_t>());
    return out;
}

// BLAKE3 of every row of an int32 matrix: [rows, 32] uint8.
torch::Tensor hash_rows(torch::Tensor c) {
    TORCH_CHECK(c.is_cuda() && c.scalar_type() == torch::kInt32 && c.dim() == 2 && c.is_contiguous() && c.size(1) > 0, "hash_rows takes a contiguous int32 CUDA matrix");
    auto stream = c10::cuda::getCurrentCUDAStream();
    int64_t rows = c.size(0), n = c.size(1), count = crucible_b3_chunks(n);
    // Words as int32 (PyTorch's unsigned 32-bit type lacks kernels); the bits are what count.
    auto level = torch::empty({rows, count, 8}, torch::dtype(torch::kInt32).device(c.device()));
    chunk_kernel<<<blocksFor(rows * count), 256, 0, stream>>>(c.data_ptr<int32_t>(), n, rows, count, (uint32_t *)level.data_ptr<int32_t>());
    while (count > 1) {
        int64_t parents = (count + 1) / 2;
        auto next = torch::empty({rows, parents, 8}, torch::dtype(torch::kInt32).device(c.device()));
        row_level_kernel<<<blocksFor(rows * parents), 256, 0, stream>>>(
            (const uint32_t *)level.data_ptr<int32_t>(), rows, count, parents, (uint32_t *)next.data_ptr<int32_t>());
        level = next;
        count = parents;
    }
    // Little-endian words are BLAKE3's output bytes as they lie in memory.
    return level.reshape({rows, 8}).view(torch::kUInt8);
}

// One Merkle level: leaf hashes of row hashes (leaves) or parents of a level.
torch::Tensor merkle_level(torch::Tensor level, bool leaves) {
    TORCH_CHECK(level.is_cuda() && level.scalar_type() == torch::kUInt8 && level.size(1) == 32, "merkle_level takes [count, 32] uint8 on CUDA");
    int64_t count = level.size(0);
    int64_t parents = leaves ? count : (count + 1) / 2;
    auto out = torch::empty({parents, 32}, torch::dtype(torch::kUInt8).device(level.device()));
    merkle_kernel<<<blocksFor(parents), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(level.data_ptr<uint8_t>(), count, leaves ? 1 : 0, parents, out.data_ptr<uint8_t>());
    return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.def("generate", &generate, "challenge matrix");
    m.def("hash_rows", &hash_rows, "BLAKE3 of each int32 row");
    m.def("merkle_level", &merkle_level, "one Merkle level");
}
