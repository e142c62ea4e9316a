#include "challenge_kernels.h"

int8_t crucible_kernels_entry(const uint8_t seed[32], uint64_t matrix, uint64_t t, uint64_t row, uint64_t col) {
    uint64_t words[4];
    crucible_seed_words(seed, words);
    return crucible_entry(words, matrix, t, row, col);
}

void crucible_kernels_row_hash(const int32_t *row, int64_t n, uint8_t out[32]) {
    crucible_sha256_row(row, n, out);
}
