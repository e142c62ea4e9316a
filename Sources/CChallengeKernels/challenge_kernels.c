#include "challenge_kernels.h"

int8_t crucible_kernels_entry(const uint8_t seed[32], uint64_t matrix, uint64_t t, uint64_t row, uint64_t col) {
    uint64_t words[4];
    crucible_seed_words(seed, words);
    return crucible_entry(words, matrix, t, row, col);
}

void crucible_kernels_row_hash(const int32_t *row, int64_t n, uint8_t out[32]) {
    crucible_b3_row(row, n, out);
}

void crucible_kernels_row_hash_by_levels(const int32_t *row, int64_t n, uint32_t *scratch, uint8_t out[32]) {
    int64_t count = crucible_b3_chunks(n);
    uint32_t *current = scratch, *next = scratch + count * 8;
    for (int64_t c = 0; c < count; c++) crucible_b3_chunk(row, n, c, count == 1, current + c * 8);
    while (count > 1) {
        int64_t parents = (count + 1) / 2;
        for (int64_t i = 0; i < parents; i++) crucible_b3_level(current, count, i, parents == 1, next + i * 8);
        uint32_t *swap = current;
        current = next;
        next = swap;
        count = parents;
    }
    crucible_b3_bytes(current, out);
}

void crucible_kernels_merkle_root(const uint8_t *rowHashes, int64_t count, uint8_t *scratch, uint8_t out[32]) {
    uint8_t *current = scratch, *next = scratch + count * 32;
    for (int64_t i = 0; i < count; i++) crucible_merkle_parent(rowHashes, count, i, 1, current + i * 32);
    while (count > 1) {
        int64_t parents = (count + 1) / 2;
        for (int64_t i = 0; i < parents; i++) crucible_merkle_parent(current, count, i, 0, next + i * 32);
        uint8_t *swap = current;
        current = next;
        next = swap;
        count = parents;
    }
    for (int b = 0; b < 32; b++) out[b] = current[b];
}
