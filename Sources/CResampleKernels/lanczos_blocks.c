// The blocked separable Lanczos-3 path on 8 lanes (see resample_kernels.h and the doc comment of
// LanczosResampler+Blocks.swift, which this file follows step by step).
//
// Swift compiles the package for the x86-64 baseline: the Swift path's SIMD4<Float> loops are
// SSE, its per-pixel Double loops (block midranges, the range check) scalar, and the block's
// frame patch is copied and transposed one float at a time. Resampling 10,000 SDSS band stamps
// was 0.75–0.95 s of CPU (about 80 cycles per output pixel) beside 2 s of bzip2. Here: ymm
// registers (8 floats, 4 doubles), an 8 × 8 transpose for the patch, and the frame under each
// row of blocks prefetched one row ahead. Same operations in the same order, no
// contraction into FMAs, so every output is bit for bit the Swift path's (tested).
//
// Why AVX2 and not AVX-512: a block is 21–22 stamp pixels wide for an SDSS stamp; on 16 lanes
// that is 2 zmm vectors (32 lanes, a third idle), on 8 lanes 3 ymm (24 lanes); Zen 4 executes a
// zmm operation as two ymm halves, so 16 lanes would do more work here, not less.
#include "resample_kernels.h"

#include <limits.h>
#include <math.h>
#include <string.h>

enum { SLOTS_MAX = 8 };

// Lanes of every per-lane array: the stamp size rounded up to whole vectors.
static long lanes_for(long size) { return (size + 7) / 8 * 8; }

// The patch's line length for blocks up to `widest` stamp pixels: room for the window and for
// the first pass's reach (a whole number of vectors past the block's lanes and slots).
static long patch_length_for(long widest) { return (widest + SLOTS_MAX + 16 + 7) / 8 * 8; }

void photoz_lanczos_blocks_scratch(long size, long *floats, long *doubles) {
    long lanes = lanes_for(size), patchLength = patch_length_for(size + 4);
    *floats = 2 * SLOTS_MAX * lanes + patchLength * (2 * size + 16) + 2 * patchLength;
    *doubles = 5 * lanes + 8 + 3 * size;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#pragma clang fp contract(off)

int photoz_resample_have_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0x6) != 0x6) return 0;   // the OS saves the SSE and AVX (ymm) state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_AVX2) ? 1 : 0;
}

#define AVX2 __attribute__((target("avx2")))

// Swift's min and max (the first argument unless the second is strictly beyond it).
static inline double min_d(double x, double y) { return y < x ? y : x; }
static inline double max_d(double x, double y) { return y >= x ? y : x; }

// LanczosResampler.split: the integer part and the fraction, within 10⁻⁶ px of a pixel snapped onto it.
static inline long split(double position, double *fraction) {
    long i = (long)position;
    if ((double)i > position) i -= 1;
    double f = position - (double)i;
    if (f > 1 - 1e-6) { i += 1; f = 0; } else if (f < 1e-6) f = 0;
    *fraction = f;
    return i;
}

// LanczosResampler.tabulatedWithSlope: the six weights at `fraction` and their slopes.
static inline void weights_with_slope(double fraction, const float *table, long steps, float w[6], float d[6]) {
    double position = fraction * (double)steps;
    long k = (long)position;
    if (k > steps - 1) k = steps - 1;
    float t = (float)(position - (double)k), s = (float)steps;
    const float *a = table + 8 * k, *b = a + 8;
    for (int m = 0; m < 6; m++) {
        float difference = b[m] - a[m];
        w[m] = a[m] + t * difference;
        d[m] = difference * s;
    }
}

// Lanes below `count` (0…8) set.
AVX2 static inline __m256i first_lanes(long count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Eight doubles to eight floats (rounded to nearest, as Swift's SIMD conversion).
AVX2 static inline __m256 narrow(__m256d low, __m256d high) {
    return _mm256_set_m128(_mm256_cvtpd_ps(high), _mm256_cvtpd_ps(low));
}

// Transposes eight rows of eight floats in place.
AVX2 static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// The patch of a transposed (SDSS) block: patch[a · patchLength + k] = frame at x = uLow + a,
// y = sign · (low + k), for a < columns, k < patchCount; zero for k up to patchLength. False
// when a value is not finite. 8 × 8 tiles: eight frame rows loaded (masked past `columns`: the
// frame may end there), transposed, stored as eight patch lines.
AVX2 static int copy_transposed(const float *pixels, long width, long sign, long low, long patchCount,
                                long uLow, long columns, float *patch, long patchLength) {
    __m256 check = _mm256_setzero_ps(), zero = _mm256_setzero_ps();
    for (long k = 0; k < patchCount; k += 8) {
        long rows = patchCount - k < 8 ? patchCount - k : 8;
        for (long a = 0; a < columns; a += 8) {
            long width8 = columns - a < 8 ? columns - a : 8;
            __m256i mask = first_lanes(width8);
            __m256 r[8];
            for (long q = 0; q < 8; q++) {
                if (q < rows) {
                    const float *source = pixels + (sign * (low + k + q)) * width + uLow + a;
                    r[q] = width8 == 8 ? _mm256_loadu_ps(source) : _mm256_maskload_ps(source, mask);
                    check = _mm256_add_ps(check, _mm256_mul_ps(r[q], zero));
                } else {
                    r[q] = zero;
                }
            }
            transpose8(r);
            for (long q = 0; q < width8; q++) _mm256_storeu_ps(patch + (a + q) * patchLength + k, r[q]);
        }
    }
    long end = (patchCount + 7) / 8 * 8;
    for (long a = 0; a < columns; a++) memset(patch + a * patchLength + end, 0, (size_t)(patchLength - end) * sizeof(float));
    return _mm256_movemask_ps(_mm256_cmp_ps(check, zero, _CMP_NEQ_UQ)) == 0;
}

// The patch of an aligned block (frame lines along x): patch[a · patchLength + k] = frame at
// y = uLow + a, x = sign · (low + k). False when a value is not finite.
static int copy_aligned(const float *pixels, long width, long sign, long low, long patchCount,
                        long uLow, long columns, float *patch, long patchLength) {
    int finite = 1;
    for (long a = 0; a < columns; a++) {
        const float *source = pixels + (uLow + a) * width;
        float *target = patch + a * patchLength;
        if (sign > 0) {
            for (long k = 0; k < patchCount; k++) { target[k] = source[low + k]; finite &= isfinite(target[k]) != 0; }
        } else {
            for (long k = 0; k < patchCount; k++) { target[k] = source[-low - k]; finite &= isfinite(target[k]) != 0; }
        }
        memset(target + patchCount, 0, (size_t)(patchLength - patchCount) * sizeof(float));
    }
    return finite;
}

// Prefetches the frame rows `first`…`last` between x = `left` and `right` (clamped to the frame).
static void prefetch_rows(const float *pixels, long width, long height, double left, double right, double first, double last) {
    long x0 = (long)left, x1 = (long)right, y0 = (long)first, y1 = (long)last;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > width - 1) x1 = width - 1;
    if (y1 > height - 1) y1 = height - 1;
    for (long y = y0; y <= y1; y++) {
        const char *from = (const char *)((unsigned long)(pixels + y * width + x0) & ~63UL);
        const char *to = (const char *)(pixels + y * width + x1);
        for (const char *line = from; line <= to; line += 64) __builtin_prefetch(line, 0, 3);
    }
}

// What the second pass of one stamp line reads besides the positions.
struct Lane {
    const float *values, *slopes, *weights, *weightSlopes;
    long lanes, slots;
    double uCentre;
    const double *vCentres;
};

// δu, δv of stamp pixels c … c + 7 (within 10⁻⁶ px of u_c or v_c: exactly on it, as the general
// path snaps).
AVX2 static inline void deltas(const struct Lane *l, const double *rowU, const double *rowV, long c, __m256 *deltaU, __m256 *deltaV) {
    const __m256 tiny = _mm256_set1_ps(1e-6f), minusTiny = _mm256_set1_ps(-1e-6f);
    __m256d centre = _mm256_set1_pd(l->uCentre);
    __m256 du = narrow(_mm256_sub_pd(_mm256_loadu_pd(rowU + c), centre), _mm256_sub_pd(_mm256_loadu_pd(rowU + c + 4), centre));
    __m256 dv = narrow(_mm256_sub_pd(_mm256_loadu_pd(rowV + c), _mm256_loadu_pd(l->vCentres + c)),
                       _mm256_sub_pd(_mm256_loadu_pd(rowV + c + 4), _mm256_loadu_pd(l->vCentres + c + 4)));
    *deltaU = _mm256_andnot_ps(_mm256_and_ps(_mm256_cmp_ps(du, tiny, _CMP_LT_OQ), _mm256_cmp_ps(du, minusTiny, _CMP_GT_OQ)), du);
    *deltaV = _mm256_andnot_ps(_mm256_and_ps(_mm256_cmp_ps(dv, tiny, _CMP_LT_OQ), _mm256_cmp_ps(dv, minusTiny, _CMP_GT_OQ)), dv);
}

// sum + (w + δv·w′)(H + δu·H′) for slot t of pixels c … c + 7.
AVX2 static inline __m256 term(const struct Lane *l, __m256 sum, long c, long t, __m256 deltaU, __m256 deltaV) {
    __m256 g = _mm256_add_ps(_mm256_loadu_ps(l->values + c + t), _mm256_mul_ps(deltaU, _mm256_loadu_ps(l->slopes + c + t)));
    __m256 w = _mm256_add_ps(_mm256_loadu_ps(l->weights + t * l->lanes + c),
                             _mm256_mul_ps(deltaV, _mm256_loadu_ps(l->weightSlopes + t * l->lanes + c)));
    return _mm256_add_ps(sum, _mm256_mul_ps(w, g));
}

// The sum times the area ratio, stored for the pixels of c … c + 7 below `bw`.
AVX2 static inline void finish(__m256 sum, const double *rowArea, float *target, long c, long bw) {
    __m256 value = _mm256_mul_ps(sum, narrow(_mm256_loadu_pd(rowArea + c), _mm256_loadu_pd(rowArea + c + 4)));
    if (c + 8 <= bw) _mm256_storeu_ps(target + c, value);
    else _mm256_maskstore_ps(target + c, first_lanes(bw - c), value);
}

AVX2 static inline void second_pass1(const struct Lane *l, const double *rowU, const double *rowV, const double *rowArea,
                                     float *target, long c, long bw) {
    __m256 du, dv, sum = _mm256_setzero_ps();
    deltas(l, rowU, rowV, c, &du, &dv);
    for (long t = 0; t < l->slots; t++) sum = term(l, sum, c, t, du, dv);
    finish(sum, rowArea, target, c, bw);
}

// Pixels c … c + 23 (some past `bw`: computed, not stored).
AVX2 static inline void second_pass3(const struct Lane *l, const double *rowU, const double *rowV, const double *rowArea,
                                     float *target, long c, long bw) {
    __m256 du0, dv0, du1, dv1, du2, dv2;
    deltas(l, rowU, rowV, c, &du0, &dv0);
    deltas(l, rowU, rowV, c + 8, &du1, &dv1);
    deltas(l, rowU, rowV, c + 16, &du2, &dv2);
    __m256 sum0 = _mm256_setzero_ps(), sum1 = sum0, sum2 = sum0;
    for (long t = 0; t < l->slots; t++) {
        sum0 = term(l, sum0, c, t, du0, dv0);
        sum1 = term(l, sum1, c + 8, t, du1, dv1);
        sum2 = term(l, sum2, c + 16, t, du2, dv2);
    }
    finish(sum0, rowArea, target, c, bw);
    finish(sum1, rowArea, target, c + 8, bw);
    finish(sum2, rowArea, target, c + 16, bw);
}

// Prefetches the frame under stamp lines j0 … j1 − 1, pixels i0 … i1 − 1 (the rectangle of
// their corners' positions, widened by the kernel's reach).
static void prefetch_block(const float *pixels, long width, long height, const double *xs, const double *ys,
                           long n, long j0, long j1, long i0, long i1) {
    const long corners[4] = {j0 * n + i0, j0 * n + i1 - 1, (j1 - 1) * n + i0, (j1 - 1) * n + i1 - 1};
    double left = xs[corners[0]], right = left, bottom = ys[corners[0]], top = bottom;
    for (int c = 1; c < 4; c++) {
        left = fmin(left, xs[corners[c]]); right = fmax(right, xs[corners[c]]);
        bottom = fmin(bottom, ys[corners[c]]); top = fmax(top, ys[corners[c]]);
    }
    prefetch_rows(pixels, width, height, left - 3, right + 4, bottom - 3, top + 4);
}

AVX2 int photoz_lanczos_blocks(const float *pixels, long width, long height,
                               const double *xs, const double *ys, const double *areas, long n,
                               const float *table, long tableSteps, double blockReach, long minimumSide,
                               float *out, float *floats, double *doubles) {
    long count = n * n;
    if (n < 2) return 0;
    // Off the projection (NaN) or absurdly far: not here.
    __m256d limit = _mm256_set1_pd(1e9), signBit = _mm256_set1_pd(-0.0);
    __m256d inside = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    long k = 0;
    for (; k + 4 <= count; k += 4) {
        inside = _mm256_and_pd(inside, _mm256_cmp_pd(_mm256_andnot_pd(signBit, _mm256_loadu_pd(xs + k)), limit, _CMP_LT_OQ));
        inside = _mm256_and_pd(inside, _mm256_cmp_pd(_mm256_andnot_pd(signBit, _mm256_loadu_pd(ys + k)), limit, _CMP_LT_OQ));
    }
    int allInside = _mm256_movemask_pd(inside) == 0xF;
    for (; k < count; k++) allInside &= (fabs(xs[k]) < 1e9) & (fabs(ys[k]) < 1e9);
    if (!allInside) return 0;

    // v: the frame axis that steps along a stamp row.
    long last = n - 1;
    int transposed = fabs(ys[last] - ys[0]) > fabs(xs[last] - xs[0]);
    const double *us = transposed ? xs : ys, *vs = transposed ? ys : xs;
    long vExtent = transposed ? height : width, uExtent = transposed ? width : height;
    long sign = vs[last] >= vs[0] ? 1 : -1;

    // Drift of u along a row and of v along a column, judged at the edges (checked per pixel below).
    double uDrift = max_d(fabs(us[last] - us[0]), fabs(us[last * n + last] - us[last * n]));
    double vDrift = max_d(fabs(vs[last * n] - vs[0]), fabs(vs[last * n + last] - vs[last]));
    long blocksI = (long)ceil(uDrift / (2 * blockReach)), blocksJ = (long)ceil(vDrift / (2 * blockReach));
    if (blocksI < 1) blocksI = 1;
    if (blocksJ < 1) blocksJ = 1;
    if (!(n / blocksI >= minimumSide || blocksI == 1) || !(n / blocksJ >= minimumSide || blocksJ == 1)) return 0;
    long widest = (n + blocksI - 1) / blocksI + 4;

    long lanes = lanes_for(n), patchLength = patch_length_for(widest);
    float *windowWeights = floats, *windowSlopes = floats + SLOTS_MAX * lanes;
    float *patch = windowSlopes + SLOTS_MAX * lanes;
    float *lineValues = patch + patchLength * (2 * n + 16), *lineSlopes = lineValues + patchLength;
    double *vCentres = doubles, *vLows = vCentres + lanes + 8, *vHighs = vLows + lanes, *uCentres = vHighs + lanes;
    // v_c and u_c split again (as the Swift path does; not always the first split's parts), once.
    double *vFractions = uCentres + n, *uFractions = vFractions + lanes;
    long *vIntegers = (long *)(uFractions + n), *uIntegers = vIntegers + lanes;
    for (long c = 0; c < lanes + 8; c++) vCentres[c] = 0;
    const double spreadLimit = 3 * blockReach;

    // The frame under each row of blocks is prefetched while the row before is resampled (the
    // patch copies waited on it: a stamp's 70-odd frame rows are 8 KB apart in a 12 MB frame;
    // one row of blocks ahead took a tenth fewer kernel samples than one block ahead).
    prefetch_block(pixels, width, height, xs, ys, n, 0, n / blocksJ, 0, n);
    for (long bj = 0; bj < blocksJ; bj++) {
        long j0 = bj * n / blocksJ, j1 = (bj + 1) * n / blocksJ;
        if (bj + 1 < blocksJ) prefetch_block(pixels, width, height, xs, ys, n, j1, (bj + 2) * n / blocksJ, 0, n);
        for (long bi = 0; bi < blocksI; bi++) {
            long i0 = bi * n / blocksI, i1 = (bi + 1) * n / blocksI, bw = i1 - i0;
            long blockLanes = (bw + 7) / 8 * 8;

            // Columns: v_c(i), the midrange over the block's lines.
            memcpy(vLows, vs + j0 * n + i0, (size_t)bw * sizeof(double));
            memcpy(vHighs, vs + j0 * n + i0, (size_t)bw * sizeof(double));
            for (long j = j0 + 1; j < j1; j++) {
                const double *line = vs + j * n + i0;
                long c = 0;
                for (; c + 4 <= bw; c += 4) {
                    // Swift's min(lo, x) is x < lo ? x : lo, max(hi, x) is x >= hi ? x : hi.
                    __m256d x = _mm256_loadu_pd(line + c), lo = _mm256_loadu_pd(vLows + c), hi = _mm256_loadu_pd(vHighs + c);
                    _mm256_storeu_pd(vLows + c, _mm256_blendv_pd(lo, x, _mm256_cmp_pd(x, lo, _CMP_LT_OQ)));
                    _mm256_storeu_pd(vHighs + c, _mm256_blendv_pd(hi, x, _mm256_cmp_pd(x, hi, _CMP_GE_OQ)));
                }
                for (; c < bw; c++) { vLows[c] = min_d(vLows[c], line[c]); vHighs[c] = max_d(vHighs[c], line[c]); }
            }
            double vSpread = 0;
            for (long c = 0; c < bw; c++) {
                double fv;
                long iv = split((vLows[c] + vHighs[c]) / 2, &fv);
                vCentres[c] = (double)iv + fv;   // snapped as the weights are
                vSpread = max_d(vSpread, vHighs[c] - vLows[c]);
            }
            for (long c = bw; c < blockLanes + 8; c++) vCentres[c] = 0;
            if (!(vSpread <= spreadLimit)) return 0;
            // The window: tap m of column c sits at oriented index o = sign·(iv − 2 + m), slot o − c − low.
            long low = LONG_MAX, high = LONG_MIN;
            for (long c = 0; c < bw; c++) {
                long iv = vIntegers[c] = split(vCentres[c], &vFractions[c]);
                long firstTap = (sign > 0 ? iv - 2 : -(iv + 3)) - c;
                if (firstTap < low) low = firstTap;
                if (firstTap > high) high = firstTap;
            }
            long slots = high - low + 6;
            if (slots > SLOTS_MAX) return 0;
            long patchCount = bw - 1 + slots;
            long vFirst = sign > 0 ? low : -(low + patchCount - 1), vLast = sign > 0 ? low + patchCount - 1 : -low;
            if (!(vFirst >= 0 && vLast < vExtent)) return 0;
            memset(windowWeights, 0, (size_t)(2 * SLOTS_MAX * lanes) * sizeof(float));
            for (long c = 0; c < bw; c++) {
                long iv = vIntegers[c];
                float w[6], d[6];
                weights_with_slope(vFractions[c], table, tableSteps, w, d);
                for (long m = 0; m < 6; m++) {
                    long t = (sign > 0 ? iv - 2 + m : -(iv - 2 + m)) - c - low;
                    windowWeights[t * lanes + c] = w[m];
                    windowSlopes[t * lanes + c] = d[m];
                }
            }

            // Lines: u_c(j), the midrange over the block's columns; the frame lines u reaches.
            long uLow = LONG_MAX, uHigh = LONG_MIN;
            for (long j = j0; j < j1; j++) {
                const double *line = us + j * n + i0;
                // The extremes in any order: the same values (the order only picks between
                // −0 and +0, which the guards below refuse anyway: u ≥ 2 px inside the frame).
                double lo = line[0], hi = lo;
                long c = 1;
                if (bw >= 5) {
                    __m256d lo4 = _mm256_loadu_pd(line + 1), hi4 = lo4;
                    for (c = 5; c + 4 <= bw; c += 4) {
                        __m256d x = _mm256_loadu_pd(line + c);
                        lo4 = _mm256_min_pd(lo4, x);
                        hi4 = _mm256_max_pd(hi4, x);
                    }
                    double l[4], h[4];
                    _mm256_storeu_pd(l, lo4);
                    _mm256_storeu_pd(h, hi4);
                    for (int q = 0; q < 4; q++) { lo = min_d(lo, l[q]); hi = max_d(hi, h[q]); }
                }
                for (; c < bw; c++) { lo = min_d(lo, line[c]); hi = max_d(hi, line[c]); }
                if (!(hi - lo <= spreadLimit)) return 0;
                double fu;
                long iu = split((lo + hi) / 2, &fu);
                uCentres[j] = (double)iu + fu;
                uIntegers[j] = split(uCentres[j], &uFractions[j]);
                if (iu - 2 < uLow) uLow = iu - 2;
                if (iu + 3 > uHigh) uHigh = iu + 3;
            }
            if (!(uLow >= 0 && uHigh < uExtent && uHigh - uLow + 1 <= 2 * n + 16)) return 0;

            // The patch: patch[(u − uLow) · patchLength + k] = frame at u, v = sign · (low + k).
            long columns = uHigh - uLow + 1;
            int finite = transposed ? copy_transposed(pixels, width, sign, low, patchCount, uLow, columns, patch, patchLength)
                                    : copy_aligned(pixels, width, sign, low, patchCount, uLow, columns, patch, patchLength);
            if (!finite) return 0;

            // As far as the second pass reads: lane c + slot t + 7 < blockLanes + slots.
            long reachLanes = (blockLanes + slots + 7) / 8 * 8;
            for (long j = j0; j < j1; j++) {
                double uCentre = uCentres[j];
                long iu = uIntegers[j];
                float w[6], d[6];
                weights_with_slope(uFractions[j], table, tableSteps, w, d);
                // First pass: H_j and H′_j over the patch's lines, eight at a time.
                const float *p = patch + (iu - 2 - uLow) * patchLength;
                __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]), w2 = _mm256_set1_ps(w[2]);
                __m256 w3 = _mm256_set1_ps(w[3]), w4 = _mm256_set1_ps(w[4]), w5 = _mm256_set1_ps(w[5]);
                __m256 d0 = _mm256_set1_ps(d[0]), d1 = _mm256_set1_ps(d[1]), d2 = _mm256_set1_ps(d[2]);
                __m256 d3 = _mm256_set1_ps(d[3]), d4 = _mm256_set1_ps(d[4]), d5 = _mm256_set1_ps(d[5]);
                for (long q = 0; q < reachLanes; q += 8) {
                    __m256 p0 = _mm256_loadu_ps(p + q), p1 = _mm256_loadu_ps(p + patchLength + q);
                    __m256 p2 = _mm256_loadu_ps(p + 2 * patchLength + q), p3 = _mm256_loadu_ps(p + 3 * patchLength + q);
                    __m256 p4 = _mm256_loadu_ps(p + 4 * patchLength + q), p5 = _mm256_loadu_ps(p + 5 * patchLength + q);
                    __m256 value = _mm256_mul_ps(w0, p0);
                    value = _mm256_add_ps(value, _mm256_mul_ps(w1, p1));
                    value = _mm256_add_ps(value, _mm256_mul_ps(w2, p2));
                    value = _mm256_add_ps(value, _mm256_mul_ps(w3, p3));
                    value = _mm256_add_ps(value, _mm256_mul_ps(w4, p4));
                    value = _mm256_add_ps(value, _mm256_mul_ps(w5, p5));
                    __m256 slope = _mm256_mul_ps(d0, p0);
                    slope = _mm256_add_ps(slope, _mm256_mul_ps(d1, p1));
                    slope = _mm256_add_ps(slope, _mm256_mul_ps(d2, p2));
                    slope = _mm256_add_ps(slope, _mm256_mul_ps(d3, p3));
                    slope = _mm256_add_ps(slope, _mm256_mul_ps(d4, p4));
                    slope = _mm256_add_ps(slope, _mm256_mul_ps(d5, p5));
                    _mm256_storeu_ps(lineValues + q, value);
                    _mm256_storeu_ps(lineSlopes + q, slope);
                }
                // Second pass: eight stamp pixels of the line at a time, up to three vectors
                // side by side (each its own chain of additions, in the Swift path's order).
                const double *rowU = us + j * n + i0, *rowV = vs + j * n + i0, *rowArea = areas + j * n + i0;
                struct Lane lane = {lineValues, lineSlopes, windowWeights, windowSlopes, lanes, slots, uCentre, vCentres};
                float *target = out + j * n + i0;
                long c = 0;
                for (; bw - c > 16; c += 24) second_pass3(&lane, rowU, rowV, rowArea, target, c, bw);
                for (; c < bw; c += 8) second_pass1(&lane, rowU, rowV, rowArea, target, c, bw);
            }
        }
    }
    return 1;
}

#else

int photoz_resample_have_avx2(void) { return 0; }

int photoz_lanczos_blocks(const float *pixels, long width, long height,
                          const double *xs, const double *ys, const double *areas, long size,
                          const float *table, long tableSteps, double reach, long minimumSide,
                          float *out, float *floats, double *doubles) {
    return 0;   // never called: photoz_resample_have_avx2() is 0
}

#endif
