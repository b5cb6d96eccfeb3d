// AVX2 kernels of PhotoZData's cutout resampling (the blocked separable Lanczos-3 path), with a
// run-time CPU check: the package is built for the x86-64 baseline (no -target-cpu flag, so it
// stays usable as a dependency), and each function here is compiled for AVX2 by a target
// attribute and called only when photoz_resample_have_avx2() says the CPU and OS run it.
#ifndef PHOTOZ_RESAMPLE_KERNELS_H
#define PHOTOZ_RESAMPLE_KERNELS_H

/// 1 when the CPU and the OS run AVX2 code (ymm registers), else 0.
int photoz_resample_have_avx2(void);

/// The working memory `photoz_lanczos_blocks` needs for `size`-pixel stamps: `floats` floats
/// and `doubles` doubles.
void photoz_lanczos_blocks_scratch(long size, long *floats, long *doubles);

/// The blocked separable Lanczos-3 path of `LanczosResampler` (`LanczosResampler+Blocks.swift`,
/// whose doc comment describes the method), the same operations in the same order on 8 lanes
/// instead of 4, so the stamp is bit for bit the Swift path's (tested).
///
/// `pixels`: the frame, `width` × `height`, x fastest. `xs`, `ys`, `areas`: each stamp pixel's
/// frame position (0-based) and area ratio, `size` × `size` row by row; each array must be
/// readable 8 values past its end (any values). `table`: the weight table, 8 floats per entry
/// (taps −2…3, then 2 ignored), `tableSteps` + 1 entries. `reach`, `minimumSide`: the path's
/// `blockReach` and `blockMinimumSide`. `out`: the stamp, `size` × `size`. `floats`, `doubles`:
/// working memory as `photoz_lanczos_blocks_scratch` says.
///
/// Returns 1 with `out` written, or 0 (with `out` partly written) when the path does not apply:
/// the caller then takes another one, exactly as when the Swift path returns false.
int photoz_lanczos_blocks(const float *pixels, long width, long height,
                          const double *xs, const double *ys, const double *areas, long size,
                          const float *table, long tableSteps, double reach, long minimumSide,
                          float *out, float *floats, double *doubles);

/// `StampMapping.row` for rows 0 … `size` − 1 at once, bit for bit: `nodes` the (`cells` + 1)²
/// node positions (x, y), x fastest; `spacing` the cell side in stamp pixels; `xs`, `ys`,
/// `areas` (`size` × `size` each, row by row) receive the frame positions (0-based) of the
/// pixel centres and |det J|.
void photoz_stamp_mapping_rows(const double *nodes, long cells, double spacing, long size,
                               double *xs, double *ys, double *areas);

#endif
