//go:build !noasm

#include "textflag.h"

// func packRows16AVX2(dst, src *float32, ld, rows int)
//
//	for p := 0; p < rows; p++ {
//		copy(dst[p*16:p*16+16], src[p*ld:p*ld+16])
//	}
TEXT ·packRows16AVX2(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), DX
	SHLQ  $2, DX
	MOVQ  rows+24(FP), CX
	TESTQ CX, CX
	JZ    rowsdone

rowsloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    DX, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     rowsloop

rowsdone:
	VZEROUPPER
	RET

// func packA6AVX2(dst, src *float32, ld, kc int, alpha float32)
//
//	for p := 0; p < kc; p++ {
//		for i := 0; i < 6; i++ {
//			dst[p*6+i] = alpha * src[i*ld+p]
//		}
//	}
TEXT ·packA6AVX2(SB), NOSPLIT, $0-36
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), DX
	SHLQ  $2, DX
	MOVQ  kc+24(FP), CX
	VMOVSS alpha+32(FP), X15
	LEAQ  (SI)(DX*1), R8
	LEAQ  (R8)(DX*1), R9
	LEAQ  (R9)(DX*1), R10
	LEAQ  (R10)(DX*1), R11
	LEAQ  (R11)(DX*1), R12
	XORQ  AX, AX
	TESTQ CX, CX
	JZ    a6done

a6loop:
	VMULSS (SI)(AX*4), X15, X0
	VMULSS (R8)(AX*4), X15, X1
	VMULSS (R9)(AX*4), X15, X2
	VMULSS (R10)(AX*4), X15, X3
	VMULSS (R11)(AX*4), X15, X4
	VMULSS (R12)(AX*4), X15, X5
	VMOVSS X0, (DI)
	VMOVSS X1, 4(DI)
	VMOVSS X2, 8(DI)
	VMOVSS X3, 12(DI)
	VMOVSS X4, 16(DI)
	VMOVSS X5, 20(DI)
	ADDQ   $24, DI
	INCQ   AX
	CMPQ   AX, CX
	JLT    a6loop

a6done:
	RET
