//go:build !noasm

#include "textflag.h"

// One k step of the 6x16 AVX2 micro-kernel: B row p is Y0:Y1 (16 values at
// boff(BX)), the six A values of column p are broadcast from aoff(AX) on, and
// accumulator row i (Y4+2i, Y5+2i) gains A(i,p)*B(p,:).
#define STEP6x16(aoff, boff) \
	VMOVUPS boff(BX), Y0; \
	VMOVUPS boff+32(BX), Y1; \
	VBROADCASTSS aoff(AX), Y2; \
	VBROADCASTSS aoff+4(AX), Y3; \
	VFMADD231PS Y0, Y2, Y4; \
	VFMADD231PS Y1, Y2, Y5; \
	VFMADD231PS Y0, Y3, Y6; \
	VFMADD231PS Y1, Y3, Y7; \
	VBROADCASTSS aoff+8(AX), Y2; \
	VBROADCASTSS aoff+12(AX), Y3; \
	VFMADD231PS Y0, Y2, Y8; \
	VFMADD231PS Y1, Y2, Y9; \
	VFMADD231PS Y0, Y3, Y10; \
	VFMADD231PS Y1, Y3, Y11; \
	VBROADCASTSS aoff+16(AX), Y2; \
	VBROADCASTSS aoff+20(AX), Y3; \
	VFMADD231PS Y0, Y2, Y12; \
	VFMADD231PS Y1, Y2, Y13; \
	VFMADD231PS Y0, Y3, Y14; \
	VFMADD231PS Y1, Y3, Y15

// Stores accumulator row (lo, hi) to the 16 floats at DX, then moves DX one
// row down (R8 is ldc in bytes).
#define STORE16(lo, hi) \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX

// Same, adding beta (in Y0) times what C holds.
#define STORE16BETA(lo, hi) \
	VFMADD231PS (DX), Y0, lo; \
	VFMADD231PS 32(DX), Y0, hi; \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX

// func sgemmKernel6x16(k int, a, b, c *float32, ldc int, beta float32)
//
// With a a packed 6×k panel (a[p*6+i] = A(i,p)) and b a packed k×16 panel
// (b[p*16+j] = B(p,j)), it computes, for i < 6 and j < 16,
//
//	var s float32
//	for p := 0; p < k; p++ {
//		s += a[p*6+i] * b[p*16+j] // fused multiply-add
//	}
//	if beta == 0 {
//		c[i*ldc+j] = s
//	} else {
//		c[i*ldc+j] = beta*c[i*ldc+j] + s // fused multiply-add
//	}
//
// The sum over p runs in increasing order in one register lane per element.
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-44
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	// Warm the six rows of C while the products are summed.
	MOVQ DX, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

	MOVQ CX, R10
	SHRQ $2, R10
	ANDQ $3, CX
	TESTQ R10, R10
	JZ   tail

loop4:
	PREFETCHT0 512(BX)
	STEP6x16(0, 0)
	STEP6x16(24, 64)
	PREFETCHT0 576(BX)
	STEP6x16(48, 128)
	STEP6x16(72, 192)
	ADDQ $96, AX
	ADDQ $256, BX
	DECQ R10
	JNZ  loop4

tail:
	TESTQ CX, CX
	JZ    store

loop1:
	STEP6x16(0, 0)
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  loop1

store:
	VMOVSS  beta+40(FP), X0
	VXORPS  X1, X1, X1
	VUCOMISS X1, X0
	JNE     withbeta
	JPS     withbeta
	STORE16(Y4, Y5)
	STORE16(Y6, Y7)
	STORE16(Y8, Y9)
	STORE16(Y10, Y11)
	STORE16(Y12, Y13)
	STORE16(Y14, Y15)
	VZEROUPPER
	RET

withbeta:
	VBROADCASTSS X0, Y0
	STORE16BETA(Y4, Y5)
	STORE16BETA(Y6, Y7)
	STORE16BETA(Y8, Y9)
	STORE16BETA(Y10, Y11)
	STORE16BETA(Y12, Y13)
	STORE16BETA(Y14, Y15)
	VZEROUPPER
	RET
