// PReLU on 16-channel blocks with AVX-512 (see neural_kernels.h).
//
// Swift compiles NeuralNet's SIMD16 loops for the x86-64 baseline, i.e. as four SSE operations
// each: the bf16 PReLU forward pass was 3.2 % of a whole `photoz bench --precision bf16` process
// (perf, one thread), the largest cost of an inference pass outside oneDNN. Here one zmm
// register holds a pixel's 16 channels. Same operations, same order, no contraction into FMAs,
// so results are bit for bit those of the Swift kernels (tested).
#include "neural_kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#pragma clang fp contract(off)

int photoz_kernels_have_avx512(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;   // the OS saves the SSE, AVX and AVX-512 (opmask, zmm) state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_AVX512F) ? 1 : 0;
}

#define AVX512 __attribute__((target("avx512f")))

// 16 bf16 → 16 float32, exactly.
AVX512 static inline __m512 load_bf16(const uint16_t *p) {
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// 16 float32 → 16 bf16, rounded to nearest even; NaN → 0x7FC0 (as NeuralNet's BF16.roundedHigh).
AVX512 static inline void store_bf16(__m512 v, uint16_t *p) {
    __m512i bits = _mm512_castps_si512(v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb);
    r = _mm512_srli_epi32(r, 16);
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_set1_epi32(0x7FC0));
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtepi32_epi16(r));
}

AVX512 void photoz_prelu_forward_b16_bf16(const uint16_t *x, const float *alpha, uint16_t *y, long pixels) {
    const __m512 a = _mm512_loadu_ps(alpha), zero = _mm512_setzero_ps();
    for (long i = 0; i < pixels; i++) {
        __m512 v = load_bf16(x + i * 16);
        __mmask16 negative = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
        store_bf16(_mm512_mask_mul_ps(v, negative, v, a), y + i * 16);
    }
}

AVX512 void photoz_prelu_forward_b16_f32(const float *x, const float *alpha, float *y, long pixels) {
    const __m512 a = _mm512_loadu_ps(alpha), zero = _mm512_setzero_ps();
    for (long i = 0; i < pixels; i++) {
        __m512 v = _mm512_loadu_ps(x + i * 16);
        __mmask16 negative = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
        _mm512_storeu_ps(y + i * 16, _mm512_mask_mul_ps(v, negative, v, a));
    }
}

AVX512 void photoz_prelu_backward_b16_bf16(const uint16_t *x, const float *alpha, const uint16_t *dy,
                                           uint16_t *dx, float *dalpha, long pixels) {
    const __m512 a = _mm512_loadu_ps(alpha), zero = _mm512_setzero_ps();
    __m512 acc = _mm512_setzero_ps();
    for (long i = 0; i < pixels; i++) {
        __m512 v = load_bf16(x + i * 16), g = load_bf16(dy + i * 16);
        __mmask16 negative = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
        store_bf16(_mm512_mask_mul_ps(g, negative, g, a), dx + i * 16);
        acc = _mm512_add_ps(acc, _mm512_maskz_mul_ps(negative, g, v));
    }
    _mm512_storeu_ps(dalpha, acc);
}

AVX512 void photoz_prelu_backward_b16_f32(const float *x, const float *alpha, const float *dy,
                                          float *dx, float *dalpha, long pixels) {
    const __m512 a = _mm512_loadu_ps(alpha), zero = _mm512_setzero_ps();
    __m512 acc = _mm512_setzero_ps();
    for (long i = 0; i < pixels; i++) {
        __m512 v = _mm512_loadu_ps(x + i * 16), g = _mm512_loadu_ps(dy + i * 16);
        __mmask16 negative = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
        _mm512_storeu_ps(dx + i * 16, _mm512_mask_mul_ps(g, negative, g, a));
        acc = _mm512_add_ps(acc, _mm512_maskz_mul_ps(negative, g, v));
    }
    _mm512_storeu_ps(dalpha, acc);
}

// The concatenation through a channels-last row (as NeuralNet's BlockedConcatKernels): each
// input block is written at its channel offset in the row (its padding lanes spill into the next
// input's place, which that input then overwrites, or into the output's padding, zeroed after),
// and the row is stored as the output's 16-channel blocks.
#define CONCAT_BODY(T, LOAD_ROW_PRELU, COPY16)                                                      \
    const long outBlocks = (total + 15) / 16, rowLength = outBlocks * 16 + 16;                      \
    for (long p0 = 0; p0 < spatial; p0 += 8) {                                                      \
        const long pixels = spatial - p0 < 8 ? spatial - p0 : 8;                                   \
        for (long i = 0; i < count; i++) {                                                          \
            const long blocks = (channels[i] + 15) / 16;                                            \
            for (long b = 0; b < blocks; b++) {                                                     \
                const T *plane = inputs[i] + (b * spatial + p0) * 16;                               \
                T *dst = row + offsets[i] + b * 16;                                                 \
                if (alpha[i]) {                                                                     \
                    const __m512 a = _mm512_loadu_ps(alpha[i] + b * 16), zero = _mm512_setzero_ps(); \
                    for (long t = 0; t < pixels; t++) { LOAD_ROW_PRELU(plane + t * 16, dst + t * rowLength); } \
                } else {                                                                            \
                    for (long t = 0; t < pixels; t++) { COPY16(plane + t * 16, dst + t * rowLength); } \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
        for (long t = 0; t < pixels; t++)                                                           \
            for (long c = total; c < outBlocks * 16; c++) row[t * rowLength + c] = 0;               \
        for (long k = 0; k < outBlocks; k++) {                                                      \
            T *plane = out + (k * spatial + p0) * 16;                                               \
            for (long t = 0; t < pixels; t++) { COPY16(row + t * rowLength + k * 16, plane + t * 16); } \
        }                                                                                           \
    }

#define BF16_PRELU(from, to) do { __m512 v = load_bf16(from); \
    store_bf16(_mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, a), to); } while (0)
#define BF16_COPY(from, to) _mm256_storeu_si256((__m256i *)(to), _mm256_loadu_si256((const __m256i *)(from)))
#define F32_PRELU(from, to) do { __m512 v = _mm512_loadu_ps(from); \
    _mm512_storeu_ps(to, _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, a)); } while (0)
#define F32_COPY(from, to) _mm512_storeu_ps(to, _mm512_loadu_ps(from))

AVX512 void photoz_concat_prelu_b16_bf16(long count, const uint16_t *const *inputs, const long *channels, const long *offsets,
                                         const float *const *alpha, uint16_t *out, long total, long spatial, uint16_t *row) {
    CONCAT_BODY(uint16_t, BF16_PRELU, BF16_COPY)
}

AVX512 void photoz_concat_prelu_b16_f32(long count, const float *const *inputs, const long *channels, const long *offsets,
                                        const float *const *alpha, float *out, long total, long spatial, float *row) {
    CONCAT_BODY(float, F32_PRELU, F32_COPY)
}

#else
#include <stdlib.h>
// Not x86-64: no AVX-512; NeuralNet checks photoz_kernels_have_avx512() and never calls the rest.
int photoz_kernels_have_avx512(void) { return 0; }
void photoz_prelu_forward_b16_bf16(const uint16_t *x, const float *alpha, uint16_t *y, long pixels) { abort(); }
void photoz_prelu_forward_b16_f32(const float *x, const float *alpha, float *y, long pixels) { abort(); }
void photoz_prelu_backward_b16_bf16(const uint16_t *x, const float *alpha, const uint16_t *dy,
                                    uint16_t *dx, float *dalpha, long pixels) { abort(); }
void photoz_prelu_backward_b16_f32(const float *x, const float *alpha, const float *dy,
                                   float *dx, float *dalpha, long pixels) { abort(); }
void photoz_concat_prelu_b16_bf16(long count, const uint16_t *const *inputs, const long *channels, const long *offsets,
                                  const float *const *alpha, uint16_t *out, long total, long spatial, uint16_t *row) { abort(); }
void photoz_concat_prelu_b16_f32(long count, const float *const *inputs, const long *channels, const long *offsets,
                                 const float *const *alpha, float *out, long total, long spatial, float *row) { abort(); }
#endif
