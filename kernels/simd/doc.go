// Package simd holds the fast float32 routines of frontier's CPU backend:
// a packed, cache-blocked, multi-threaded SGEMM and the vector helpers the
// layers need (Dot, Axpy, Scale, Exp, SiLU, SumSquares).
//
// On amd64 the routines dispatch at start-up, through
// github.com/klauspost/cpuid/v2, to hand-written assembly: AVX2+FMA kernels,
// and an AVX-512 SGEMM micro-kernel where the processor has AVX-512F. Any
// other processor, any other architecture, and builds with the noasm tag use
// the pure Go versions, which the same tests exercise.
//
// Every fast routine has a plain reference to test it against (SgemmRef for
// Sgemm; the tests hold the others). Sgemm is deterministic: for given
// inputs its result does not depend on the number of threads.
package simd
