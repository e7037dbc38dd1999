// Package simd holds the fast float32 routines of frontier's CPU backend:
// a packed, cache-blocked, multi-threaded SGEMM, the vector helpers the
// layers need (Dot, Axpy, Scale, Exp, SiLU, SumSquares), and the element-wise
// loops of AdamW, RMSNorm, RoPE and the backward passes, which give exactly
// the bits of their Go expressions (no fused multiply-adds).
//
// On amd64 the routines dispatch at start-up, through
// github.com/klauspost/cpuid/v2, to hand-written AVX2+FMA assembly (a 6×16
// SGEMM micro-kernel and the vector loops). Any other processor, any other
// architecture, and builds with the noasm tag use the pure Go versions, which
// the same tests exercise. (An AVX-512 24×16 micro-kernel was tried on the
// AMD Zen 4 development machine, which runs 512-bit operations on its 256-bit
// units; it was about 12% slower than the AVX2 one and was left out.)
//
// Every fast routine has a plain reference to test it against
// (kerneltest.Gemm64 for Sgemm; the tests hold the others), and the tests
// run every routine on guarded buffers (kerneltest.Guarded) that catch a
// write past either end and any change to an input. Sgemm is deterministic: for given
// inputs its result does not depend on the number of threads.
package simd
