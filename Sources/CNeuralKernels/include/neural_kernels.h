// AVX-512 kernels of NeuralNet's own layers (PReLU on 16-channel blocks), with a run-time CPU
// check: the package is built for the x86-64 baseline (no -target-cpu flag, so it stays usable
// as a dependency), and each function here is compiled for AVX-512 by a target attribute and
// called only when photoz_kernels_have_avx512() says the CPU and OS run it.
#ifndef PHOTOZ_NEURAL_KERNELS_H
#define PHOTOZ_NEURAL_KERNELS_H

#include <stdint.h>

/// 1 when the CPU and the OS run AVX-512 F code (zmm registers), else 0.
int photoz_kernels_have_avx512(void);

/// PReLU forward over `pixels` rows of 16 channels (one channel block of one image in
/// `nChw16c`): y = x > 0 ? x : alpha[c]·x, alpha in natural channel order (16 floats).
/// bf16 values are widened exactly, computed in float32 and rounded to nearest even once
/// (NaN becomes 0x7FC0), bit for bit as NeuralNet's Swift kernels.
void photoz_prelu_forward_b16_bf16(const uint16_t *x, const float *alpha, uint16_t *y, long pixels);
void photoz_prelu_forward_b16_f32(const float *x, const float *alpha, float *y, long pixels);

/// PReLU backward over the same rows: dx = x < 0 ? alpha[c]·dy : dy, and
/// dalpha[c] = Σ dy·x over x < 0, accumulated pixel by pixel in float32 (written, 16 floats).
void photoz_prelu_backward_b16_bf16(const uint16_t *x, const float *alpha, const uint16_t *dy,
                                    uint16_t *dx, float *dalpha, long pixels);
void photoz_prelu_backward_b16_f32(const float *x, const float *alpha, const float *dy,
                                   float *dx, float *dalpha, long pixels);

/// One image's channel concatenation into `nChw16c` (`total` channels, `spatial` pixels) of
/// `count` inputs in `nChw16c` (input i: `channels[i]` channels, first output channel
/// `offsets[i]`, any alignment), each through a PReLU with `alpha[i]` (its slopes in channel
/// order, zero-padded to whole blocks) or copied bit for bit where `alpha[i]` is NULL. Goes
/// through a channels-last row per tile of 8 pixels (`row`: scratch of 8 · (16·⌈total/16⌉ + 16)
/// elements); the output's channel padding is written as zeros. Inputs' padding must be zero.
void photoz_concat_prelu_b16_bf16(long count, const uint16_t *const *inputs, const long *channels, const long *offsets,
                                  const float *const *alpha, uint16_t *out, long total, long spatial, uint16_t *row);
void photoz_concat_prelu_b16_f32(long count, const float *const *inputs, const long *channels, const long *offsets,
                                 const float *const *alpha, float *out, long total, long spatial, float *row);

#endif
