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

#endif
