// Exact int8 × int8 → int32 products on this machine's vector units, for the CPU challenge solver. The
// processor's widest path is chosen at run time (AVX-512 VNNI, then AVX2), with a plain loop everywhere else, so
// one binary runs on any x86-64 or ARM machine.
#ifndef CRUCIBLE_CPU_INT8_H
#define CRUCIBLE_CPU_INT8_H

#include <stdint.h>

/// Σ_k b_columns[j][k] for every column j: the correction that lets unsigned × signed instructions compute signed
/// products ((a + 128) · b − 128 · Σb).
void crucible_cpu_column_sums(const int8_t *b_columns, int64_t n, int32_t *sums);

/// out[r][j] = Σ_k a_rows[r][k] · b_columns[j][k] for `rows` rows, exactly.
void crucible_cpu_product_rows(const int8_t *a_rows, int64_t rows, const int8_t *b_columns, const int32_t *column_sums, int64_t n, int32_t *out);

/// The verifier's entries C_t[i][j] for `count` columns j, from row i of A_t: each column of B_t is generated from the
/// seed words as it is consumed, eight columns side by side in vector lanes where AVX-512 allows.
void crucible_cpu_entries(const uint64_t seed[4], uint64_t t, const int8_t *row_a, int64_t n, const int64_t *columns, int64_t count, int32_t *out);

/// Row `row` of matrix 0 (A) or 1 (B, by columns) of product t, n entries: eight blocks at a time in AVX-512 lanes
/// where the processor has them.
void crucible_cpu_generate_row(const uint64_t seed[4], uint64_t matrix, uint64_t t, uint64_t row, int64_t n, int8_t *out);

/// crucible_cpu_product_rows on a named path — 0 portable, 1 AVX2, 2 AVX-512 VNNI — so tests can check every path
/// this processor has against the others. Returns 0, or -1 when this processor lacks the path.
int crucible_cpu_product_rows_on(int path, const int8_t *a_rows, int64_t rows, const int8_t *b_columns, const int32_t *column_sums, int64_t n, int32_t *out);

/// Which path crucible_cpu_product_rows takes here: "avx512-vnni", "avx2" or "portable".
const char *crucible_cpu_int8_path(void);

/// Multiply-adds per second one core sustains on that path's int8 instruction, with no memory traffic: the
/// machine's peak, against which the solver's throughput is reported. 0 on the portable path.
double crucible_cpu_int8_peak_per_core(void);

#endif
