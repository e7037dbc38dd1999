//go:build !noasm

#include "textflag.h"

// The exact element-wise routines (see asm_amd64.go): VMULPS, VADDPS,
// VSUBPS, VDIVPS and VSQRTPS in the order of the Go expressions, never a
// fused multiply-add, so that every lane rounds as the Go code does. The
// first slice's length is a multiple of 8.

// func adamWAVX2(p, g, m, v []float32, beta1, c1, beta2, c2, bc1, bc2, eps, wd, lr float32)
//
//	for i := range p {
//		m[i] = beta1*m[i] + c1*g[i]
//		v[i] = beta2*v[i] + c2*g[i]*g[i]
//		p[i] -= lr * (m[i]/bc1/(sqrt(v[i]/bc2)+eps) + wd*p[i])
//	}
TEXT ·adamWAVX2(SB), NOSPLIT, $0-132
	MOVQ         p_base+0(FP), DI
	MOVQ         p_len+8(FP), CX
	MOVQ         g_base+24(FP), SI
	MOVQ         m_base+48(FP), R8
	MOVQ         v_base+72(FP), R9
	SHRQ         $3, CX
	JZ           adamdone
	VBROADCASTSS beta1+96(FP), Y15
	VBROADCASTSS c1+100(FP), Y14
	VBROADCASTSS beta2+104(FP), Y13
	VBROADCASTSS c2+108(FP), Y12
	VBROADCASTSS bc1+112(FP), Y11
	VBROADCASTSS bc2+116(FP), Y10
	VBROADCASTSS eps+120(FP), Y9
	VBROADCASTSS wd+124(FP), Y8
	VBROADCASTSS lr+128(FP), Y7

adamloop:
	VMOVUPS (SI), Y0     // g
	VMULPS  (R8), Y15, Y1 // beta1*m
	VMULPS  Y0, Y14, Y2   // c1*g
	VADDPS  Y2, Y1, Y1    // m
	VMOVUPS Y1, (R8)
	VMULPS  (R9), Y13, Y2 // beta2*v
	VMULPS  Y0, Y12, Y3   // c2*g
	VMULPS  Y0, Y3, Y3    // c2*g*g
	VADDPS  Y3, Y2, Y2    // v
	VMOVUPS Y2, (R9)
	VDIVPS  Y11, Y1, Y1   // mh = m/bc1
	VDIVPS  Y10, Y2, Y2   // vh = v/bc2
	VSQRTPS Y2, Y2
	VADDPS  Y9, Y2, Y2    // sqrt(vh)+eps
	VDIVPS  Y2, Y1, Y1    // mh/(sqrt(vh)+eps)
	VMOVUPS (DI), Y4      // p
	VMULPS  Y4, Y8, Y5    // wd*p
	VADDPS  Y5, Y1, Y1
	VMULPS  Y1, Y7, Y1    // lr*(...)
	VSUBPS  Y1, Y4, Y4    // p - lr*(...)
	VMOVUPS Y4, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, R9
	DECQ    CX
	JNZ     adamloop

adamdone:
	VZEROUPPER
	RET

// func scaleMulRowsAVX2(dst, x, w, s *float32, d, d8, rows int)
//
//	for r := 0; r < rows; r++ {
//		for j := 0; j < d8; j++ {
//			dst[r*d+j] = w[j] * (x[r*d+j] * s[r])
//		}
//	}
TEXT ·scaleMulRowsAVX2(SB), NOSPLIT, $0-56
	MOVQ  dst+0(FP), DI
	MOVQ  x+8(FP), SI
	MOVQ  w+16(FP), DX
	MOVQ  s+24(FP), R10
	MOVQ  d+32(FP), BX
	SHLQ  $2, BX          // bytes from a row to the next
	MOVQ  d8+40(FP), R12
	SHRQ  $3, R12         // vectors per row
	JZ    smuldone
	MOVQ  rows+48(FP), R13
	TESTQ R13, R13
	JZ    smuldone

smulrow:
	VBROADCASTSS (R10), Y15
	XORQ         AX, AX
	MOVQ         R12, CX

smulloop:
	VMULPS  (SI)(AX*1), Y15, Y0 // x*s
	VMULPS  (DX)(AX*1), Y0, Y0  // w*(x*s)
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	DECQ    CX
	JNZ     smulloop
	ADDQ    BX, SI
	ADDQ    BX, DI
	ADDQ    $4, R10
	DECQ    R13
	JNZ     smulrow

smuldone:
	VZEROUPPER
	RET

// func rmsNormGradRowsAVX2(dx, dwPart, x, w, dout, rs, m *float32, d, d8, rows int)
//
//	for r := 0; r < rows; r++ {
//		for j := 0; j < d8; j++ {
//			n := x[r*d+j] * rs[r]
//			dx[r*d+j] += rs[r] * (w[j]*dout[r*d+j] - n*m[r])
//			dwPart[j] += dout[r*d+j] * n
//		}
//	}
TEXT ·rmsNormGradRowsAVX2(SB), NOSPLIT, $0-80
	MOVQ  dx+0(FP), DI
	MOVQ  dwPart+8(FP), R8
	MOVQ  x+16(FP), SI
	MOVQ  w+24(FP), DX
	MOVQ  dout+32(FP), R9
	MOVQ  rs+40(FP), R10
	MOVQ  m+48(FP), R11
	MOVQ  d+56(FP), BX
	SHLQ  $2, BX          // bytes from a row to the next
	MOVQ  d8+64(FP), R12
	SHRQ  $3, R12         // vectors per row
	JZ    rmsgdone
	MOVQ  rows+72(FP), R13
	TESTQ R13, R13
	JZ    rmsgdone

rmsgrow:
	VBROADCASTSS (R10), Y15 // rs
	VBROADCASTSS (R11), Y14 // m
	XORQ         AX, AX
	MOVQ         R12, CX

rmsgloop:
	VMULPS  (SI)(AX*1), Y15, Y0 // n = x*rs
	VMOVUPS (DX)(AX*1), Y1
	VMULPS  (R9)(AX*1), Y1, Y1  // w*dout
	VMULPS  Y14, Y0, Y2         // n*m
	VSUBPS  Y2, Y1, Y1          // w*dout - n*m
	VMULPS  Y1, Y15, Y1         // rs*(...)
	VADDPS  (DI)(AX*1), Y1, Y1  // dx + rs*(...)
	VMOVUPS Y1, (DI)(AX*1)
	VMULPS  (R9)(AX*1), Y0, Y2  // dout*n
	VADDPS  (R8)(AX*1), Y2, Y2  // dwPart + dout*n
	VMOVUPS Y2, (R8)(AX*1)
	ADDQ    $32, AX
	DECQ    CX
	JNZ     rmsgloop
	ADDQ    BX, SI
	ADDQ    BX, DI
	ADDQ    BX, R9
	ADDQ    $4, R10
	ADDQ    $4, R11
	DECQ    R13
	JNZ     rmsgrow

rmsgdone:
	VZEROUPPER
	RET

// func addAVX2(y, x []float32)
//
//	for i, v := range x {
//		y[i] += v
//	}
TEXT ·addAVX2(SB), NOSPLIT, $0-48
	MOVQ y_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX

add32:
	CMPQ    CX, $32
	JLT     add8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VADDPS  64(SI), Y2, Y2
	VADDPS  96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     add32

add8:
	CMPQ    CX, $8
	JLT     adddone
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     add8

adddone:
	VZEROUPPER
	RET

// func rotateHalvesAVX2(x, cos, sin *float32, h, h8, blocks int, sign float32)
//
//	for each of blocks blocks v of 2h floats, for j < h8:
//		a, b := v[j], v[j+h]
//		v[j] = a*cos[j] - sign*b*sin[j]
//		v[j+h] = b*cos[j] + sign*a*sin[j]
TEXT ·rotateHalvesAVX2(SB), NOSPLIT, $0-52
	MOVQ         x+0(FP), SI
	MOVQ         cos+8(FP), DI
	MOVQ         sin+16(FP), DX
	MOVQ         h+24(FP), R8
	SHLQ         $2, R8 // bytes from v[j] to v[j+h]
	MOVQ         h8+32(FP), R9
	SHRQ         $3, R9 // vectors per half
	JZ           rotdone
	MOVQ         blocks+40(FP), R10
	TESTQ        R10, R10
	JZ           rotdone
	VBROADCASTSS sign+48(FP), Y15

rotblock:
	MOVQ  SI, R11
	XORQ  BX, BX
	MOVQ  R9, CX

rotvec:
	VMOVUPS (R11), Y0       // a
	VMOVUPS (R11)(R8*1), Y1 // b
	VMOVUPS (DI)(BX*1), Y2  // cos
	VMOVUPS (DX)(BX*1), Y3  // sin
	VMULPS  Y2, Y0, Y4      // a*cos
	VMULPS  Y1, Y15, Y5     // sign*b
	VMULPS  Y3, Y5, Y5      // sign*b*sin
	VSUBPS  Y5, Y4, Y4
	VMULPS  Y2, Y1, Y6      // b*cos
	VMULPS  Y0, Y15, Y7     // sign*a
	VMULPS  Y3, Y7, Y7      // sign*a*sin
	VADDPS  Y7, Y6, Y6
	VMOVUPS Y4, (R11)
	VMOVUPS Y6, (R11)(R8*1)
	ADDQ    $32, R11
	ADDQ    $32, BX
	DECQ    CX
	JNZ     rotvec
	LEAQ    (SI)(R8*2), SI
	DECQ    R10
	JNZ     rotblock

rotdone:
	VZEROUPPER
	RET

// ADD4SD adds the 4 doubles of Y register y (X register x is its low half)
// one after another to the low double of acc, with t as scratch.
#define ADD4SD(y, x, t, acc) \
	VADDSD       x, acc, acc; \
	VPERMILPD    $1, x, t; \
	VADDSD       t, acc, acc; \
	VEXTRACTF128 $1, y, x; \
	VADDSD       x, acc, acc; \
	VPERMILPD    $1, x, t; \
	VADDSD       t, acc, acc

// func rmsNormDotAVX2(x, w, dout []float32, rs float32) float64
//
//	var s float64
//	for i := range x {
//		s += float64(w[i]*dout[i]) * float64(x[i]*rs) // in order of i
//	}
//	return s
//
// The products eight at a time, the sum one term after another.
TEXT ·rmsNormDotAVX2(SB), NOSPLIT, $0-88
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	MOVQ         w_base+24(FP), DX
	MOVQ         dout_base+48(FP), R9
	VBROADCASTSS rs+72(FP), Y15
	VXORPS       X8, X8, X8
	SHRQ         $3, CX
	JZ           rdotdone

rdotloop:
	VMOVUPS      (DX), Y0
	VMULPS       (R9), Y0, Y0 // w*dout
	VMULPS       (SI), Y15, Y1 // x*rs
	VCVTPS2PD    X0, Y2
	VEXTRACTF128 $1, Y0, X0
	VCVTPS2PD    X0, Y3
	VCVTPS2PD    X1, Y4
	VEXTRACTF128 $1, Y1, X1
	VCVTPS2PD    X1, Y5
	VMULPD       Y4, Y2, Y2    // terms 0..3
	VMULPD       Y5, Y3, Y3    // terms 4..7
	ADD4SD(Y2, X2, X6, X8)
	ADD4SD(Y3, X3, X6, X8)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, R9
	DECQ         CX
	JNZ          rdotloop

rdotdone:
	VMOVSD X8, ret+80(FP)
	VZEROUPPER
	RET

// ROWTERMS sets lo and hi (Y registers; xlo and xhi their X halves) to the
// float64 terms 0..3 and 4..7 of eight columns of one row:
// float64(w[j]*dout[j]) * float64(x[j]*rs), w at DX. Y8 and Y9 are scratch.
#define ROWTERMS(xaddr, daddr, rsreg, lo, hi, xlo, xhi) \
	VMOVUPS      daddr, lo; \
	VMULPS       (DX), lo, lo; \
	VMULPS       xaddr, rsreg, hi; \
	VEXTRACTF128 $1, lo, X8; \
	VCVTPS2PD    X8, Y8; \
	VCVTPS2PD    xlo, lo; \
	VEXTRACTF128 $1, hi, X9; \
	VCVTPS2PD    X9, Y9; \
	VCVTPS2PD    xhi, hi; \
	VMULPD       hi, lo, lo; \
	VMULPD       Y9, Y8, hi

// COLSUM4 transposes the terms of four columns of four rows (a, b, c, d:
// one row each, four columns) and adds the columns in order to the four
// rows' sums in Y11, one row per lane. Y8..Y10 are scratch; a..d are
// overwritten.
#define COLSUM4(a, b, c, d) \
	VUNPCKLPD  b, a, Y8; \
	VUNPCKHPD  b, a, Y9; \
	VUNPCKLPD  d, c, Y10; \
	VUNPCKHPD  d, c, a; \
	VPERM2F128 $0x20, Y10, Y8, b; \
	VPERM2F128 $0x20, a, Y9, c; \
	VPERM2F128 $0x31, Y10, Y8, d; \
	VPERM2F128 $0x31, a, Y9, Y8; \
	VADDPD     b, Y11, Y11; \
	VADDPD     c, Y11, Y11; \
	VADDPD     d, Y11, Y11; \
	VADDPD     Y8, Y11, Y11

// func rmsNormDot4AVX2(dst *float64, x, dout, w, rs *float32, ld, d8 int)
//
//	for r := 0; r < 4; r++ {
//		var s float64
//		for j := 0; j < d8; j++ {
//			s += float64(w[j]*dout[r*ld+j]) * float64(x[r*ld+j]*rs[r]) // in order of j
//		}
//		dst[r] = s
//	}
//
// Four rows' sums in the four lanes of one register, so that each row's
// terms are added one after another, as in rmsNormDotAVX2, while the four
// chains of additions overlap.
TEXT ·rmsNormDot4AVX2(SB), NOSPLIT, $0-56
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         dout+16(FP), R9
	MOVQ         w+24(FP), DX
	MOVQ         rs+32(FP), AX
	MOVQ         ld+40(FP), BX
	SHLQ         $2, BX           // bytes from a row to the next
	LEAQ         (BX)(BX*2), R10  // to the fourth row
	MOVQ         d8+48(FP), CX
	VBROADCASTSS (AX), Y12
	VBROADCASTSS 4(AX), Y13
	VBROADCASTSS 8(AX), Y14
	VBROADCASTSS 12(AX), Y15
	VXORPD       Y11, Y11, Y11
	SHRQ         $3, CX
	JZ           rdot4done

rdot4loop:
	ROWTERMS((SI), (R9), Y12, Y0, Y4, X0, X4)
	ROWTERMS((SI)(BX*1), (R9)(BX*1), Y13, Y1, Y5, X1, X5)
	ROWTERMS((SI)(BX*2), (R9)(BX*2), Y14, Y2, Y6, X2, X6)
	ROWTERMS((SI)(R10*1), (R9)(R10*1), Y15, Y3, Y7, X3, X7)
	COLSUM4(Y0, Y1, Y2, Y3)
	COLSUM4(Y4, Y5, Y6, Y7)
	ADDQ         $32, SI
	ADDQ         $32, R9
	ADDQ         $32, DX
	DECQ         CX
	JNZ          rdot4loop

rdot4done:
	VMOVUPD Y11, (DI)
	VZEROUPPER
	RET
