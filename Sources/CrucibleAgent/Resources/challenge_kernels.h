// The proof-of-GPU challenge's generator, row hash and Merkle levels in C, written once for two compilers: the C compiler
// builds it into the Swift package, where tests check it against Tests/CrucibleProofTests/challenge-vectors.json,
// and nvcc builds the same functions into the CUDA backend's kernels (this folder, shipped with the agent), so the
// GPU runs code that was checked here. The definition is ChallengeGenerator's doc comment (CrucibleProof).
#ifndef CRUCIBLE_CHALLENGE_KERNELS_H
#define CRUCIBLE_CHALLENGE_KERNELS_H

#include <stdint.h>

#ifdef __CUDACC__
#define CRUCIBLE_FN static __host__ __device__ __forceinline__
#else
#define CRUCIBLE_FN static inline
#endif

/// MurmurHash3's 64-bit finalizer.
CRUCIBLE_FN uint64_t crucible_fmix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/// The hash carrying entries (col & ~7) … (col | 7) of row `row` of matrix 0 (A) or 1 (B, by columns) of product t.
CRUCIBLE_FN uint64_t crucible_block(const uint64_t seed[4], uint64_t matrix, uint64_t t, uint64_t row, uint64_t col) {
    uint64_t counter = matrix << 63 | t << 48 | row << 24 | (col >> 3);
    uint64_t h = crucible_fmix64(counter ^ seed[0]);
    h = crucible_fmix64(h ^ seed[1]);
    h = crucible_fmix64(h ^ seed[2]);
    return crucible_fmix64(h ^ seed[3]);
}

CRUCIBLE_FN int8_t crucible_entry(const uint64_t seed[4], uint64_t matrix, uint64_t t, uint64_t row, uint64_t col) {
    return (int8_t)(uint8_t)(crucible_block(seed, matrix, t, row, col) >> (8 * (col & 7)));
}

/// The seed's four little-endian 64-bit words.
CRUCIBLE_FN void crucible_seed_words(const uint8_t bytes[32], uint64_t words[4]) {
    for (int w = 0; w < 4; w++) {
        uint64_t value = 0;
        for (int b = 0; b < 8; b++) value |= (uint64_t)bytes[w * 8 + b] << (8 * b);
        words[w] = value;
    }
}

// SHA-256 (FIPS 180-4) of the Merkle tree's nodes.

CRUCIBLE_FN uint32_t crucible_rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

CRUCIBLE_FN void crucible_sha256_compress(uint32_t state[8], const uint32_t block[16]) {
    const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = block[i];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = crucible_rotr(w[i - 15], 7) ^ crucible_rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = crucible_rotr(w[i - 2], 17) ^ crucible_rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (crucible_rotr(e, 6) ^ crucible_rotr(e, 11) ^ crucible_rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
        uint32_t t2 = (crucible_rotr(a, 2) ^ crucible_rotr(a, 13) ^ crucible_rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d; state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

// BLAKE3 (the specification's default hash mode, 32-byte output) of one row of int32 entries, each as four
// little-endian bytes: the Merkle leaf of a challenge row. BLAKE3 is a tree: a row of n entries is ceil(n / 256)
// chunks of 1 KiB, each hashed on its own, then joined pairwise level by level (an odd last one promoted). So the
// GPU hashes every chunk of every row on a thread of its own, where SHA-256 of a 64 KiB row was one thread's
// 1,025 sequential compressions. Little-endian entries are BLAKE3's little-endian message words as they are.

#define CRUCIBLE_B3_CHUNK_START 1u
#define CRUCIBLE_B3_CHUNK_END 2u
#define CRUCIBLE_B3_PARENT 4u
#define CRUCIBLE_B3_ROOT 8u
/// Entries in one 1 KiB chunk, and in one 64-byte block.
#define CRUCIBLE_B3_CHUNK_ENTRIES 256
#define CRUCIBLE_B3_BLOCK_ENTRIES 16

CRUCIBLE_FN uint32_t crucible_b3_iv(int i) {
    // SHA-256's initial hash value, as BLAKE3 defines its IV.
    const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    return iv[i];
}

CRUCIBLE_FN void crucible_b3_g(uint32_t s[16], int a, int b, int c, int d, uint32_t x, uint32_t y) {
    s[a] = s[a] + s[b] + x;
    s[d] = crucible_rotr(s[d] ^ s[a], 16);
    s[c] = s[c] + s[d];
    s[b] = crucible_rotr(s[b] ^ s[c], 12);
    s[a] = s[a] + s[b] + y;
    s[d] = crucible_rotr(s[d] ^ s[a], 8);
    s[c] = s[c] + s[d];
    s[b] = crucible_rotr(s[b] ^ s[c], 7);
}

/// The compression function, keeping the first half of its output: the chaining value, or the 32-byte hash of a
/// ROOT compression.
CRUCIBLE_FN void crucible_b3_compress(const uint32_t cv[8], const uint32_t block[16], uint64_t counter, uint32_t blockLength, uint32_t flags, uint32_t out[8]) {
    const int permutation[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};
    uint32_t s[16] = {
        cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
        crucible_b3_iv(0), crucible_b3_iv(1), crucible_b3_iv(2), crucible_b3_iv(3),
        (uint32_t)counter, (uint32_t)(counter >> 32), blockLength, flags,
    };
    uint32_t m[16], permuted[16];
    for (int i = 0; i < 16; i++) m[i] = block[i];
    for (int round = 0; round < 7; round++) {
        crucible_b3_g(s, 0, 4, 8, 12, m[0], m[1]);
        crucible_b3_g(s, 1, 5, 9, 13, m[2], m[3]);
        crucible_b3_g(s, 2, 6, 10, 14, m[4], m[5]);
        crucible_b3_g(s, 3, 7, 11, 15, m[6], m[7]);
        crucible_b3_g(s, 0, 5, 10, 15, m[8], m[9]);
        crucible_b3_g(s, 1, 6, 11, 12, m[10], m[11]);
        crucible_b3_g(s, 2, 7, 8, 13, m[12], m[13]);
        crucible_b3_g(s, 3, 4, 9, 14, m[14], m[15]);
        for (int i = 0; i < 16; i++) permuted[i] = m[permutation[i]];
        for (int i = 0; i < 16; i++) m[i] = permuted[i];
    }
    for (int i = 0; i < 8; i++) out[i] = s[i] ^ s[i + 8];
}

/// Chunks in a row of n entries (at least one).
CRUCIBLE_FN int64_t crucible_b3_chunks(int64_t n) {
    return n <= CRUCIBLE_B3_CHUNK_ENTRIES ? 1 : (n + CRUCIBLE_B3_CHUNK_ENTRIES - 1) / CRUCIBLE_B3_CHUNK_ENTRIES;
}

/// The chaining value of chunk `chunk` of a row of n entries; `root` for a row of one chunk, whose value is its hash.
CRUCIBLE_FN void crucible_b3_chunk(const int32_t *row, int64_t n, int64_t chunk, int root, uint32_t out[8]) {
    int64_t first = chunk * CRUCIBLE_B3_CHUNK_ENTRIES;
    int64_t count = n - first < CRUCIBLE_B3_CHUNK_ENTRIES ? n - first : CRUCIBLE_B3_CHUNK_ENTRIES;
    int64_t blocks = (count + CRUCIBLE_B3_BLOCK_ENTRIES - 1) / CRUCIBLE_B3_BLOCK_ENTRIES;
    uint32_t cv[8], block[16];
    for (int i = 0; i < 8; i++) cv[i] = crucible_b3_iv(i);
    for (int64_t b = 0; b < blocks; b++) {
        int64_t base = first + b * CRUCIBLE_B3_BLOCK_ENTRIES;
        int64_t words = count - b * CRUCIBLE_B3_BLOCK_ENTRIES < CRUCIBLE_B3_BLOCK_ENTRIES ? count - b * CRUCIBLE_B3_BLOCK_ENTRIES : CRUCIBLE_B3_BLOCK_ENTRIES;
        for (int i = 0; i < 16; i++) block[i] = i < words ? (uint32_t)row[base + i] : 0;
        uint32_t flags = (b == 0 ? CRUCIBLE_B3_CHUNK_START : 0) | (b == blocks - 1 ? CRUCIBLE_B3_CHUNK_END | (root ? CRUCIBLE_B3_ROOT : 0) : 0);
        crucible_b3_compress(cv, block, (uint64_t)chunk, (uint32_t)(words * 4), flags, cv);
    }
    for (int i = 0; i < 8; i++) out[i] = cv[i];
}

/// A parent node's chaining value from its children's; `root` for the last join, whose value is the row's hash.
CRUCIBLE_FN void crucible_b3_parent(const uint32_t left[8], const uint32_t right[8], int root, uint32_t out[8]) {
    uint32_t block[16], key[8];
    for (int i = 0; i < 8; i++) {
        block[i] = left[i];
        block[8 + i] = right[i];
        key[i] = crucible_b3_iv(i);
    }
    crucible_b3_compress(key, block, 0, 64, CRUCIBLE_B3_PARENT | (root ? CRUCIBLE_B3_ROOT : 0), out);
}

/// One level of a row's tree, as the GPU computes it: from `count` chaining values, node `index` of the
/// `(count + 1) / 2` above them (a pair joined, an odd last one promoted); `root` when that level is one node.
CRUCIBLE_FN void crucible_b3_level(const uint32_t *level, int64_t count, int64_t index, int root, uint32_t out[8]) {
    if (2 * index + 1 < count) {
        crucible_b3_parent(level + 16 * index, level + 16 * index + 8, root, out);
    } else {
        for (int i = 0; i < 8; i++) out[i] = level[16 * index + i];
    }
}

/// The 32-byte hash's bytes from its eight words, little-endian as BLAKE3 writes them.
CRUCIBLE_FN void crucible_b3_bytes(const uint32_t words[8], uint8_t out[32]) {
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)words[i];
        out[4 * i + 1] = (uint8_t)(words[i] >> 8);
        out[4 * i + 2] = (uint8_t)(words[i] >> 16);
        out[4 * i + 3] = (uint8_t)(words[i] >> 24);
    }
}

/// BLAKE3 of a row of n ≥ 1 entries on one thread, as the reference implementation walks the tree: a stack of
/// chaining values, joined whenever a complete subtree is done. The CPU solver and the verifier hash rows so.
CRUCIBLE_FN void crucible_b3_row(const int32_t *row, int64_t n, uint8_t out[32]) {
    int64_t chunks = crucible_b3_chunks(n);
    uint32_t stack[64][8], cv[8];
    int depth = 0;
    if (chunks == 1) {
        crucible_b3_chunk(row, n, 0, 1, cv);
        crucible_b3_bytes(cv, out);
        return;
    }
    for (int64_t chunk = 0; chunk < chunks - 1; chunk++) {
        crucible_b3_chunk(row, n, chunk, 0, cv);
        // A complete subtree for every trailing zero bit of the chunks done so far.
        for (uint64_t done = (uint64_t)chunk + 1; (done & 1) == 0; done >>= 1) crucible_b3_parent(stack[--depth], cv, 0, cv);
        for (int i = 0; i < 8; i++) stack[depth][i] = cv[i];
        depth++;
    }
    crucible_b3_chunk(row, n, chunks - 1, 0, cv);
    while (depth > 0) {
        depth--;
        crucible_b3_parent(stack[depth], cv, depth == 0, cv);
    }
    crucible_b3_bytes(cv, out);
}

/// SHA-256 of `length` bytes (up to 119, as the Merkle tree hashes: 0x00 || leaf, 0x01 || left || right).
CRUCIBLE_FN void crucible_sha256_short(const uint8_t *bytes, int length, uint8_t out[32]) {
    uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t padded[128];
    int blocks = (length + 9 + 63) / 64;
    for (int i = 0; i < blocks * 64; i++) padded[i] = i < length ? bytes[i] : 0;
    padded[length] = 0x80;
    uint64_t bits = (uint64_t)length * 8;
    for (int i = 0; i < 8; i++) padded[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (int b = 0; b < blocks; b++) {
        uint32_t block[16];
        for (int i = 0; i < 16; i++) {
            const uint8_t *p = padded + b * 64 + 4 * i;
            block[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        }
        crucible_sha256_compress(state, block);
    }
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(state[i] >> 24);
        out[4 * i + 1] = (uint8_t)(state[i] >> 16);
        out[4 * i + 2] = (uint8_t)(state[i] >> 8);
        out[4 * i + 3] = (uint8_t)state[i];
    }
}

/// One level of the Merkle tree (MerkleTree in CrucibleCore): from `count` hashes, `(count + 1) / 2` parents —
/// 0x01 || left || right hashed, an odd last one promoted. `leaves` != 0 hashes 0x00 || leaf instead, one to one.
CRUCIBLE_FN void crucible_merkle_parent(const uint8_t *level, int64_t count, int64_t index, int leaves, uint8_t out[32]) {
    uint8_t message[65];
    if (leaves) {
        message[0] = 0x00;
        for (int b = 0; b < 32; b++) message[1 + b] = level[index * 32 + b];
        crucible_sha256_short(message, 33, out);
    } else if (2 * index + 1 < count) {
        message[0] = 0x01;
        for (int b = 0; b < 64; b++) message[1 + b] = level[2 * index * 32 + b];
        crucible_sha256_short(message, 65, out);
    } else {
        for (int b = 0; b < 32; b++) out[b] = level[2 * index * 32 + b];
    }
}

// Entry points for Swift (the C compiler only).
#ifndef __CUDACC__
int8_t crucible_kernels_entry(const uint8_t seed[32], uint64_t matrix, uint64_t t, uint64_t row, uint64_t col);
/// BLAKE3 of a row, on one thread (crucible_b3_row).
void crucible_kernels_row_hash(const int32_t *row, int64_t n, uint8_t out[32]);
/// BLAKE3 of a row as the GPU computes it: every chunk's chaining value, then level by level with crucible_b3_level;
/// `scratch` holds 2 × 8 words per chunk.
void crucible_kernels_row_hash_by_levels(const int32_t *row, int64_t n, uint32_t *scratch, uint8_t out[32]);
/// The Merkle root over `count` row hashes, level by level with crucible_merkle_parent; `scratch` holds 2 × count × 32 bytes.
void crucible_kernels_merkle_root(const uint8_t *rowHashes, int64_t count, uint8_t *scratch, uint8_t out[32]);
#endif

#endif
