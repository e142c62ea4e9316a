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

/// Which path crucible_cpu_product_rows takes here: "avx512-vnni", "avx2" or "portable".
const char *crucible_cpu_int8_path(void);

/// Multiply-adds per second one core sustains on that path's int8 instruction, with no memory traffic: the
/// machine's peak, against which the solver's throughput is reported. 0 on the portable path.
double crucible_cpu_int8_peak_per_core(void);

#endif
