// StampMapping.row for every row of a stamp, four pixels at a time (see resample_kernels.h).
//
// The Swift loop runs one double at a time (the package is built for the x86-64 baseline): it
// was a third of the resampling CPU once the blocked path ran in C (perf, 2,000 objects of
// 2583-2-136). Same operations in the same order, no contraction into FMAs: bit for bit the
// Swift positions and area ratios (tested).
#include "resample_kernels.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang fp contract(off)

#define AVX2 __attribute__((target("avx2")))

AVX2 void photoz_stamp_mapping_rows(const double *nodes, long cells, double spacing, long size,
                                    double *xs, double *ys, double *areas) {
    long m = cells + 1;
    double inverse = 1 / spacing;
    const __m256d signBit = _mm256_set1_pd(-0.0), one = _mm256_set1_pd(1), inverse4 = _mm256_set1_pd(inverse);
    for (long j = 0; j < size; j++) {
        double *x = xs + j * size, *y = ys + j * size, *area = areas + j * size;
        double sy = ((double)j + 0.5) / spacing;
        long b = (long)sy < cells - 1 ? (long)sy : cells - 1;
        double v = sy - (double)b;
        for (long a = 0; a < cells; a++) {
            const double *p00 = nodes + 2 * (b * m + a), *p10 = nodes + 2 * (b * m + a + 1);
            const double *p01 = nodes + 2 * ((b + 1) * m + a), *p11 = nodes + 2 * ((b + 1) * m + a + 1);
            // Along the row the map is linear within a cell: left and right ends interpolated in v.
            double lx = (1 - v) * p00[0] + v * p01[0], ly = (1 - v) * p00[1] + v * p01[1];
            double rx = (1 - v) * p10[0] + v * p11[0], ry = (1 - v) * p10[1] + v * p11[1];
            double dxdi = (rx - lx) / spacing, dydi = (ry - ly) / spacing;
            long first = a == 0 ? 0 : (long)ceil((double)a * spacing - 0.5);
            long last = size - 1;
            if (a != cells - 1) {
                long end = (long)ceil((double)(a + 1) * spacing - 0.5) - 1;
                if (end < last) last = end;
            }
            if (first > last) continue;
            double left0 = p01[0] - p00[0], left1 = p01[1] - p00[1], right0 = p11[0] - p10[0], right1 = p11[1] - p10[1];
            double spanX = rx - lx, spanY = ry - ly, cell = (double)a;
            long i = first;
            const __m256d lx4 = _mm256_set1_pd(lx), ly4 = _mm256_set1_pd(ly), spanX4 = _mm256_set1_pd(spanX), spanY4 = _mm256_set1_pd(spanY);
            const __m256d left04 = _mm256_set1_pd(left0), left14 = _mm256_set1_pd(left1);
            const __m256d right04 = _mm256_set1_pd(right0), right14 = _mm256_set1_pd(right1);
            const __m256d dxdi4 = _mm256_set1_pd(dxdi), dydi4 = _mm256_set1_pd(dydi), cell4 = _mm256_set1_pd(cell);
            // Pixel indices as doubles, stepped by 4 (exact: small integers).
            __m256d index = _mm256_setr_pd((double)i, (double)(i + 1), (double)(i + 2), (double)(i + 3));
            const __m256d four = _mm256_set1_pd(4), half = _mm256_set1_pd(0.5);
            for (; i + 4 <= last + 1; i += 4, index = _mm256_add_pd(index, four)) {
                __m256d centre = _mm256_add_pd(index, half);
                __m256d u = _mm256_sub_pd(_mm256_mul_pd(centre, inverse4), cell4), w = _mm256_sub_pd(one, u);
                _mm256_storeu_pd(x + i, _mm256_add_pd(lx4, _mm256_mul_pd(u, spanX4)));
                _mm256_storeu_pd(y + i, _mm256_add_pd(ly4, _mm256_mul_pd(u, spanY4)));
                __m256d dxdj = _mm256_mul_pd(_mm256_add_pd(_mm256_mul_pd(w, left04), _mm256_mul_pd(u, right04)), inverse4);
                __m256d dydj = _mm256_mul_pd(_mm256_add_pd(_mm256_mul_pd(w, left14), _mm256_mul_pd(u, right14)), inverse4);
                __m256d det = _mm256_sub_pd(_mm256_mul_pd(dxdi4, dydj), _mm256_mul_pd(dxdj, dydi4));
                _mm256_storeu_pd(area + i, _mm256_andnot_pd(signBit, det));
            }
            for (; i <= last; i++) {
                double u = ((double)i + 0.5) * inverse - cell;
                x[i] = lx + u * spanX;
                y[i] = ly + u * spanY;
                double dxdj = ((1 - u) * left0 + u * right0) * inverse;
                double dydj = ((1 - u) * left1 + u * right1) * inverse;
                area[i] = fabs(dxdi * dydj - dxdj * dydi);
            }
        }
    }
}

#else

void photoz_stamp_mapping_rows(const double *nodes, long cells, double spacing, long size,
                               double *xs, double *ys, double *areas) {}   // never called without AVX2

#endif
