#include "cpu_int8.h"
#include "challenge_kernels.h"
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CRUCIBLE_X86 1
#endif

void crucible_cpu_column_sums(const int8_t *b_columns, int64_t n, int32_t *sums) {
    for (int64_t j = 0; j < n; j++) {
        int32_t sum = 0;
        const int8_t *column = b_columns + j * n;
        for (int64_t k = 0; k < n; k++) sum += column[k];
        sums[j] = sum;
    }
}

static int32_t dot_portable(const int8_t *a, const int8_t *b, int64_t from, int64_t n) {
    int32_t sum = 0;
    for (int64_t k = from; k < n; k++) sum += (int32_t)a[k] * (int32_t)b[k];
    return sum;
}

static void product_portable(const int8_t *a_rows, int64_t rows, const int8_t *b_columns, int64_t n, int32_t *out) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) out[r * n + j] = dot_portable(a_rows + r * n, b_columns + j * n, 0, n);
}

// Entries [from, n) of a row, one block's hash at a time.
static void generate_portable(const uint64_t seed[4], uint64_t matrix, uint64_t t, uint64_t row, int64_t from, int64_t n, int8_t *out) {
    for (int64_t col = from; col < n; col += 8) {
        uint64_t h = crucible_block(seed, matrix, t, row, (uint64_t)col);
        for (int64_t o = 0; o < 8 && col + o < n; o++) out[col + o] = (int8_t)(uint8_t)(h >> (8 * o));
    }
}

#ifdef CRUCIBLE_X86
// VNNI's vpdpbusd multiplies unsigned by signed bytes, four at a time into each int32 lane: a row is flipped to
// a + 128 (xor 0x80), and 128 · Σ column taken off at the end. Columns go in the outer loop, four at a time, so each
// is read once for all the rows of a call while those rows stay in the first-level cache; two rows share every
// load of the four columns.
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static inline int32_t vnni_finish(__m512i sum, const int8_t *a, const int8_t *b, int32_t column_sum, int64_t vector_end, int64_t n) {
    int32_t partial = vector_end ? _mm512_reduce_add_epi32(sum) : 0;
    int32_t tail_sum = 0;
    for (int64_t k = vector_end; k < n; k++) tail_sum += b[k];
    return partial - 128 * (column_sum - tail_sum) + dot_portable(a, b, vector_end, n);
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void product_vnni(const int8_t *a_rows, int64_t rows, const int8_t *b_columns, const int32_t *sums, int64_t n, int32_t *out) {
    const int64_t vector_end = n / 64 * 64;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const int8_t *b0 = b_columns + j * n, *b1 = b0 + n, *b2 = b1 + n, *b3 = b2 + n;
        int64_t r = 0;
        for (; r + 2 <= rows; r += 2) {
            const int8_t *a0 = a_rows + r * n, *a1 = a0 + n;
            __m512i s00 = _mm512_setzero_si512(), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            for (int64_t k = 0; k < vector_end; k += 64) {
                __m512i u0 = _mm512_xor_si512(_mm512_loadu_si512(a0 + k), flip);
                __m512i u1 = _mm512_xor_si512(_mm512_loadu_si512(a1 + k), flip);
                __m512i v0 = _mm512_loadu_si512(b0 + k), v1 = _mm512_loadu_si512(b1 + k);
                __m512i v2 = _mm512_loadu_si512(b2 + k), v3 = _mm512_loadu_si512(b3 + k);
                s00 = _mm512_dpbusd_epi32(s00, u0, v0); s01 = _mm512_dpbusd_epi32(s01, u0, v1);
                s02 = _mm512_dpbusd_epi32(s02, u0, v2); s03 = _mm512_dpbusd_epi32(s03, u0, v3);
                s10 = _mm512_dpbusd_epi32(s10, u1, v0); s11 = _mm512_dpbusd_epi32(s11, u1, v1);
                s12 = _mm512_dpbusd_epi32(s12, u1, v2); s13 = _mm512_dpbusd_epi32(s13, u1, v3);
            }
            int32_t *o0 = out + r * n + j, *o1 = o0 + n;
            o0[0] = vnni_finish(s00, a0, b0, sums[j], vector_end, n); o0[1] = vnni_finish(s01, a0, b1, sums[j + 1], vector_end, n);
            o0[2] = vnni_finish(s02, a0, b2, sums[j + 2], vector_end, n); o0[3] = vnni_finish(s03, a0, b3, sums[j + 3], vector_end, n);
            o1[0] = vnni_finish(s10, a1, b0, sums[j], vector_end, n); o1[1] = vnni_finish(s11, a1, b1, sums[j + 1], vector_end, n);
            o1[2] = vnni_finish(s12, a1, b2, sums[j + 2], vector_end, n); o1[3] = vnni_finish(s13, a1, b3, sums[j + 3], vector_end, n);
        }
        for (; r < rows; r++) {
            const int8_t *a = a_rows + r * n;
            __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
            for (int64_t k = 0; k < vector_end; k += 64) {
                __m512i u = _mm512_xor_si512(_mm512_loadu_si512(a + k), flip);
                s0 = _mm512_dpbusd_epi32(s0, u, _mm512_loadu_si512(b0 + k));
                s1 = _mm512_dpbusd_epi32(s1, u, _mm512_loadu_si512(b1 + k));
                s2 = _mm512_dpbusd_epi32(s2, u, _mm512_loadu_si512(b2 + k));
                s3 = _mm512_dpbusd_epi32(s3, u, _mm512_loadu_si512(b3 + k));
            }
            int32_t *o = out + r * n + j;
            o[0] = vnni_finish(s0, a, b0, sums[j], vector_end, n); o[1] = vnni_finish(s1, a, b1, sums[j + 1], vector_end, n);
            o[2] = vnni_finish(s2, a, b2, sums[j + 2], vector_end, n); o[3] = vnni_finish(s3, a, b3, sums[j + 3], vector_end, n);
        }
    }
    for (; j < n; j++)
        for (int64_t r = 0; r < rows; r++) out[r * n + j] = dot_portable(a_rows + r * n, b_columns + j * n, 0, n);
}

// AVX2: bytes widened to int16 and vpmaddwd (16 multiply-adds into 8 int32 lanes), exact for any int8 input.
__attribute__((target("avx2")))
static void product_avx2(const int8_t *a_rows, int64_t rows, const int8_t *b_columns, int64_t n, int32_t *out) {
    const int64_t vector_end = n / 16 * 16;
    for (int64_t r = 0; r < rows; r++) {
        const int8_t *a = a_rows + r * n;
        for (int64_t j = 0; j < n; j++) {
            const int8_t *b = b_columns + j * n;
            __m256i sum = _mm256_setzero_si256();
            for (int64_t k = 0; k < vector_end; k += 16) {
                __m256i wa = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + k)));
                __m256i wb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + k)));
                sum = _mm256_add_epi32(sum, _mm256_madd_epi16(wa, wb));
            }
            __m128i half = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
            half = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0x4e));
            half = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0xb1));
            out[r * n + j] = _mm_cvtsi128_si32(half) + dot_portable(a, b, vector_end, n);
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static double peak_vnni(int64_t iterations) {
    __m512i a = _mm512_set1_epi32(0x01020304), b = _mm512_set1_epi32(0x05060708);
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (int64_t i = 0; i < iterations; i++) {
        s0 = _mm512_dpbusd_epi32(s0, a, b); s1 = _mm512_dpbusd_epi32(s1, a, b);
        s2 = _mm512_dpbusd_epi32(s2, a, b); s3 = _mm512_dpbusd_epi32(s3, a, b);
        s4 = _mm512_dpbusd_epi32(s4, a, b); s5 = _mm512_dpbusd_epi32(s5, a, b);
        s6 = _mm512_dpbusd_epi32(s6, a, b); s7 = _mm512_dpbusd_epi32(s7, a, b);
        __asm__ volatile("" : "+v"(s0), "+v"(s1), "+v"(s2), "+v"(s3), "+v"(s4), "+v"(s5), "+v"(s6), "+v"(s7));
    }
    volatile int32_t sink = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_add_epi32(s0, s4), _mm512_add_epi32(s3, s7)));
    (void)sink;
    return (double)iterations * 8 * 64;
}

__attribute__((target("avx2")))
static double peak_avx2(int64_t iterations) {
    __m256i a = _mm256_set1_epi16(3), b = _mm256_set1_epi16(5);
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (int64_t i = 0; i < iterations; i++) {
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(a, b)); s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(a, b));
        s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(a, b)); s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(a, b));
        s4 = _mm256_add_epi32(s4, _mm256_madd_epi16(a, b)); s5 = _mm256_add_epi32(s5, _mm256_madd_epi16(a, b));
        s6 = _mm256_add_epi32(s6, _mm256_madd_epi16(a, b)); s7 = _mm256_add_epi32(s7, _mm256_madd_epi16(a, b));
        __asm__ volatile("" : "+x"(s0), "+x"(s1), "+x"(s2), "+x"(s3), "+x"(s4), "+x"(s5), "+x"(s6), "+x"(s7));
    }
    volatile int32_t sink = _mm256_extract_epi32(_mm256_add_epi32(s0, s7), 0);
    (void)sink;
    return (double)iterations * 8 * 16;
}

// Eight columns at once: lane c carries column columns[c]'s block; fmix64 needs AVX-512DQ's 64-bit multiply.
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vnni")))
static void entries_avx512(const uint64_t seed[4], uint64_t t, const int8_t *row_a, int64_t n, const int64_t *columns, int32_t *out) {
    const __m512i m1 = _mm512_set1_epi64((long long)0xff51afd7ed558ccdULL), m2 = _mm512_set1_epi64((long long)0xc4ceb9fe1a85ec53ULL);
    const __m512i s0 = _mm512_set1_epi64((long long)seed[0]), s1 = _mm512_set1_epi64((long long)seed[1]);
    const __m512i s2 = _mm512_set1_epi64((long long)seed[2]), s3 = _mm512_set1_epi64((long long)seed[3]);
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
    __m512i base = _mm512_set_epi64(
        (long long)(1ULL << 63 | t << 48 | (uint64_t)columns[7] << 24), (long long)(1ULL << 63 | t << 48 | (uint64_t)columns[6] << 24),
        (long long)(1ULL << 63 | t << 48 | (uint64_t)columns[5] << 24), (long long)(1ULL << 63 | t << 48 | (uint64_t)columns[4] << 24),
        (long long)(1ULL << 63 | t << 48 | (uint64_t)columns[3] << 24), (long long)(1ULL << 63 | t << 48 | (uint64_t)columns[2] << 24),
        (long long)(1ULL << 63 | t << 48 | (uint64_t)columns[1] << 24), (long long)(1ULL << 63 | t << 48 | (uint64_t)columns[0] << 24));
    __m512i products = _mm512_setzero_si512(), sums = _mm512_setzero_si512();
    const int64_t full = n / 8;
    for (int64_t block = 0; block < full; block++) {
        __m512i h = _mm512_xor_si512(_mm512_or_si512(base, _mm512_set1_epi64(block)), s0);
#define CRUCIBLE_FMIX(x) \
        x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 33)); x = _mm512_mullo_epi64(x, m1); \
        x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 33)); x = _mm512_mullo_epi64(x, m2); \
        x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 33));
        CRUCIBLE_FMIX(h) h = _mm512_xor_si512(h, s1);
        CRUCIBLE_FMIX(h) h = _mm512_xor_si512(h, s2);
        CRUCIBLE_FMIX(h) h = _mm512_xor_si512(h, s3);
        CRUCIBLE_FMIX(h)
#undef CRUCIBLE_FMIX
        int64_t a8;
        memcpy(&a8, row_a + block * 8, 8);
        __m512i au = _mm512_xor_si512(_mm512_set1_epi64(a8), flip);
        products = _mm512_dpbusd_epi32(products, au, h);
        sums = _mm512_dpbusd_epi32(sums, ones, h);
    }
    int32_t p[16], q[16];
    _mm512_storeu_si512(p, products);
    _mm512_storeu_si512(q, sums);
    for (int c = 0; c < 8; c++) {
        int32_t value = p[2 * c] + p[2 * c + 1] - 128 * (q[2 * c] + q[2 * c + 1]);
        for (int64_t k = full * 8; k < n; k++) value += (int32_t)row_a[k] * crucible_entry(seed, 1, t, (uint64_t)columns[c], (uint64_t)k);
        out[c] = value;
    }
}

__attribute__((target("avx512f,avx512dq")))
static void generate_row_avx512(const uint64_t seed[4], uint64_t matrix, uint64_t t, uint64_t row, int64_t n, int8_t *out) {
    const __m512i m1 = _mm512_set1_epi64((long long)0xff51afd7ed558ccdULL), m2 = _mm512_set1_epi64((long long)0xc4ceb9fe1a85ec53ULL);
    const __m512i s[4] = {
        _mm512_set1_epi64((long long)seed[0]), _mm512_set1_epi64((long long)seed[1]),
        _mm512_set1_epi64((long long)seed[2]), _mm512_set1_epi64((long long)seed[3]),
    };
    const __m512i base = _mm512_set1_epi64((long long)(matrix << 63 | t << 48 | row << 24));
    const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const int64_t groups = n / 64;
    for (int64_t g = 0; g < groups; g++) {
        __m512i h = _mm512_or_si512(base, _mm512_add_epi64(_mm512_set1_epi64(g * 8), lanes));
        for (int round = 0; round < 4; round++) {
            h = _mm512_xor_si512(h, s[round]);
            h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 33)); h = _mm512_mullo_epi64(h, m1);
            h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 33)); h = _mm512_mullo_epi64(h, m2);
            h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 33));
        }
        _mm512_storeu_si512(out + g * 64, h);
    }
    generate_portable(seed, matrix, t, row, groups * 64, n, out);
}

static int has_vnni(void) { return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"); }
static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }
static int has_avx512dq(void) { return __builtin_cpu_supports("avx512dq"); }
#endif

void crucible_cpu_product_rows(const int8_t *a_rows, int64_t rows, const int8_t *b_columns, const int32_t *column_sums, int64_t n, int32_t *out) {
#ifdef CRUCIBLE_X86
    if (has_vnni()) { product_vnni(a_rows, rows, b_columns, column_sums, n, out); return; }
    if (has_avx2()) { product_avx2(a_rows, rows, b_columns, n, out); return; }
#endif
    (void)column_sums;
    product_portable(a_rows, rows, b_columns, n, out);
}

static int32_t entry_portable(const uint64_t seed[4], uint64_t t, const int8_t *row_a, int64_t n, int64_t column) {
    int32_t sum = 0;
    for (int64_t k = 0; k < n; k += 8) {
        uint64_t h = crucible_block(seed, 1, t, (uint64_t)column, (uint64_t)k);
        for (int64_t o = 0; o < 8 && k + o < n; o++) sum += (int32_t)row_a[k + o] * (int32_t)(int8_t)(uint8_t)(h >> (8 * o));
    }
    return sum;
}

void crucible_cpu_entries(const uint64_t seed[4], uint64_t t, const int8_t *row_a, int64_t n, const int64_t *columns, int64_t count, int32_t *out) {
    int64_t c = 0;
#ifdef CRUCIBLE_X86
    if (has_vnni() && has_avx512dq()) {
        for (; c + 8 <= count; c += 8) entries_avx512(seed, t, row_a, n, columns + c, out + c);
    }
#endif
    for (; c < count; c++) out[c] = entry_portable(seed, t, row_a, n, columns[c]);
}

void crucible_cpu_generate_row(const uint64_t seed[4], uint64_t matrix, uint64_t t, uint64_t row, int64_t n, int8_t *out) {
#ifdef CRUCIBLE_X86
    if (has_avx512dq()) { generate_row_avx512(seed, matrix, t, row, n, out); return; }
#endif
    generate_portable(seed, matrix, t, row, 0, n, out);
}

int crucible_cpu_product_rows_on(int path, const int8_t *a_rows, int64_t rows, const int8_t *b_columns, const int32_t *column_sums, int64_t n, int32_t *out) {
    (void)column_sums;
    switch (path) {
    case 0:
        product_portable(a_rows, rows, b_columns, n, out);
        return 0;
#ifdef CRUCIBLE_X86
    case 1:
        if (!has_avx2()) return -1;
        product_avx2(a_rows, rows, b_columns, n, out);
        return 0;
    case 2:
        if (!has_vnni()) return -1;
        product_vnni(a_rows, rows, b_columns, column_sums, n, out);
        return 0;
#endif
    default:
        return -1;
    }
}

const char *crucible_cpu_int8_path(void) {
#ifdef CRUCIBLE_X86
    if (has_vnni()) return "avx512-vnni";
    if (has_avx2()) return "avx2";
#endif
    return "portable";
}

#ifdef CRUCIBLE_X86
static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}
#endif

double crucible_cpu_int8_peak_per_core(void) {
#ifdef CRUCIBLE_X86
    double (*probe)(int64_t) = has_vnni() ? peak_vnni : has_avx2() ? peak_avx2 : 0;
    if (!probe) return 0;
    probe(1 << 16);  // warm up the vector unit's clock
    double best = 0;
    for (int run = 0; run < 5; run++) {
        double start = seconds_now();
        double macs = probe(1 << 22);
        double rate = macs / (seconds_now() - start);
        if (rate > best) best = rate;
    }
    return best;
#else
    return 0;
#endif
}
