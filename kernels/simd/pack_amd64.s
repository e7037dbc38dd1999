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
//
// Eight columns at a time: the six rows' 8-float pieces are scaled and
// transposed in registers (rows 6 and 7 of the 8x8 transpose are filler), and
// column p is stored as 8 floats at dst[p*6:], whose last two the store of
// column p+1 overwrites. The vector loop stops before the last column, so
// that every overhanging pair is overwritten (by the next block or the
// scalar tail) and no store passes dst[kc*6-1].
TEXT ·packA6AVX2(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         ld+16(FP), DX
	SHLQ         $2, DX
	MOVQ         kc+24(FP), CX
	VBROADCASTSS alpha+32(FP), Y15
	LEAQ         (SI)(DX*1), R8
	LEAQ         (R8)(DX*1), R9
	LEAQ         (R9)(DX*1), R10
	LEAQ         (R10)(DX*1), R11
	LEAQ         (R11)(DX*1), R12
	XORQ         AX, AX
	TESTQ        CX, CX
	JZ           a6done

	// BX = (kc-1) rounded down to a multiple of 8: columns [0, BX) go by eights.
	MOVQ  CX, BX
	SUBQ  $1, BX
	ANDQ  $-8, BX
	TESTQ BX, BX
	JZ    a6tail

a6vec:
	VMULPS     (SI)(AX*4), Y15, Y0
	VMULPS     (R8)(AX*4), Y15, Y1
	VMULPS     (R9)(AX*4), Y15, Y2
	VMULPS     (R10)(AX*4), Y15, Y3
	VMULPS     (R11)(AX*4), Y15, Y4
	VMULPS     (R12)(AX*4), Y15, Y5
	VUNPCKLPS  Y1, Y0, Y6     // r0 r1 interleaved, columns 0,1 | 4,5
	VUNPCKHPS  Y1, Y0, Y7     // columns 2,3 | 6,7
	VUNPCKLPS  Y3, Y2, Y8
	VUNPCKHPS  Y3, Y2, Y9
	VUNPCKLPS  Y5, Y4, Y10
	VUNPCKHPS  Y5, Y4, Y11
	VSHUFPS    $0x44, Y8, Y6, Y0    // rows 0-3 of column 0 | 4
	VSHUFPS    $0xEE, Y8, Y6, Y1    // column 1 | 5
	VSHUFPS    $0x44, Y9, Y7, Y2    // column 2 | 6
	VSHUFPS    $0xEE, Y9, Y7, Y3    // column 3 | 7
	VSHUFPS    $0x44, Y10, Y10, Y4  // rows 4-5 (and filler) of column 0 | 4
	VSHUFPS    $0xEE, Y10, Y10, Y5
	VSHUFPS    $0x44, Y11, Y11, Y6
	VSHUFPS    $0xEE, Y11, Y11, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8    // column 0
	VPERM2F128 $0x20, Y5, Y1, Y9    // column 1
	VPERM2F128 $0x20, Y6, Y2, Y10   // column 2
	VPERM2F128 $0x20, Y7, Y3, Y11   // column 3
	VPERM2F128 $0x31, Y4, Y0, Y12   // column 4
	VPERM2F128 $0x31, Y5, Y1, Y13   // column 5
	VPERM2F128 $0x31, Y6, Y2, Y14   // column 6
	VPERM2F128 $0x31, Y7, Y3, Y0    // column 7
	VMOVUPS    Y8, (DI)
	VMOVUPS    Y9, 24(DI)
	VMOVUPS    Y10, 48(DI)
	VMOVUPS    Y11, 72(DI)
	VMOVUPS    Y12, 96(DI)
	VMOVUPS    Y13, 120(DI)
	VMOVUPS    Y14, 144(DI)
	VMOVUPS    Y0, 168(DI)
	ADDQ       $192, DI
	ADDQ       $8, AX
	CMPQ       AX, BX
	JLT        a6vec

a6tail:
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
	JLT    a6tail

a6done:
	VZEROUPPER
	RET

// func packB16TAVX2(dst, src *float32, ld, kc8 int)
//
// For kc8 a multiple of 8:
//
//	for j := 0; j < 16; j++ {
//		for p := 0; p < kc8; p++ {
//			dst[p*16+j] = src[j*ld+p]
//		}
//	}
//
// Rows 0-7, then rows 8-15, go through 8x8 transposes in registers.
TEXT ·packB16TAVX2(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), DX
	SHLQ  $2, DX
	MOVQ  kc8+24(FP), CX
	TESTQ CX, CX
	JZ    b16done
	MOVQ  $2, R15

b16half:
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), BX
	MOVQ DI, R14
	XORQ AX, AX

b16loop:
	VMOVUPS    (SI)(AX*4), Y0
	VMOVUPS    (R8)(AX*4), Y1
	VMOVUPS    (R9)(AX*4), Y2
	VMOVUPS    (R10)(AX*4), Y3
	VMOVUPS    (R11)(AX*4), Y4
	VMOVUPS    (R12)(AX*4), Y5
	VMOVUPS    (R13)(AX*4), Y6
	VMOVUPS    (BX)(AX*4), Y7
	VUNPCKLPS  Y1, Y0, Y8
	VUNPCKHPS  Y1, Y0, Y9
	VUNPCKLPS  Y3, Y2, Y10
	VUNPCKHPS  Y3, Y2, Y11
	VUNPCKLPS  Y5, Y4, Y12
	VUNPCKHPS  Y5, Y4, Y13
	VUNPCKLPS  Y7, Y6, Y14
	VUNPCKHPS  Y7, Y6, Y15
	VSHUFPS    $0x44, Y10, Y8, Y0
	VSHUFPS    $0xEE, Y10, Y8, Y1
	VSHUFPS    $0x44, Y11, Y9, Y2
	VSHUFPS    $0xEE, Y11, Y9, Y3
	VSHUFPS    $0x44, Y14, Y12, Y4
	VSHUFPS    $0xEE, Y14, Y12, Y5
	VSHUFPS    $0x44, Y15, Y13, Y6
	VSHUFPS    $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS    Y8, (R14)
	VMOVUPS    Y9, 64(R14)
	VMOVUPS    Y10, 128(R14)
	VMOVUPS    Y11, 192(R14)
	VMOVUPS    Y12, 256(R14)
	VMOVUPS    Y13, 320(R14)
	VMOVUPS    Y14, 384(R14)
	VMOVUPS    Y15, 448(R14)
	ADDQ       $512, R14
	ADDQ       $8, AX
	CMPQ       AX, CX
	JLT        b16loop

	// The second half: rows 8-15 into floats 8-15 of each column.
	LEAQ (BX)(DX*1), SI
	ADDQ $32, DI
	DECQ R15
	JNZ  b16half

b16done:
	VZEROUPPER
	RET

// func packA6TAVX2(dst, src *float32, ld, kc int, alpha float32)
//
//	for p := 0; p < kc; p++ {
//		for i := 0; i < 6; i++ {
//			dst[p*6+i] = alpha * src[p*ld+i]
//		}
//	}
//
// Six floats per column: four and two, scaled in xmm registers.
TEXT ·packA6TAVX2(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         ld+16(FP), DX
	SHLQ         $2, DX
	MOVQ         kc+24(FP), CX
	VBROADCASTSS alpha+32(FP), X15
	TESTQ        CX, CX
	JZ           a6tdone

a6tloop:
	VMULPS  (SI), X15, X0
	VMOVSD  16(SI), X1
	VMULPS  X1, X15, X1
	VMOVUPS X0, (DI)
	VMOVSD  X1, 16(DI)
	ADDQ    DX, SI
	ADDQ    $24, DI
	DECQ    CX
	JNZ     a6tloop

a6tdone:
	RET
