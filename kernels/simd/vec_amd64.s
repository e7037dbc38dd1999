//go:build !noasm

#include "textflag.h"

// Constants of the vector exponential, each repeated in 8 lanes (see
// kernels_go.go for their meaning): log2e, ln2Hi, ln2Lo, the polynomial
// p0..p5, 1, the exponent bias 127 (int32), ExpMin, ExpMax.
DATA ·expTab+0(SB)/4, $0x3fb8aa3b
DATA ·expTab+4(SB)/4, $0x3fb8aa3b
DATA ·expTab+8(SB)/4, $0x3fb8aa3b
DATA ·expTab+12(SB)/4, $0x3fb8aa3b
DATA ·expTab+16(SB)/4, $0x3fb8aa3b
DATA ·expTab+20(SB)/4, $0x3fb8aa3b
DATA ·expTab+24(SB)/4, $0x3fb8aa3b
DATA ·expTab+28(SB)/4, $0x3fb8aa3b
DATA ·expTab+32(SB)/4, $0x3f318000
DATA ·expTab+36(SB)/4, $0x3f318000
DATA ·expTab+40(SB)/4, $0x3f318000
DATA ·expTab+44(SB)/4, $0x3f318000
DATA ·expTab+48(SB)/4, $0x3f318000
DATA ·expTab+52(SB)/4, $0x3f318000
DATA ·expTab+56(SB)/4, $0x3f318000
DATA ·expTab+60(SB)/4, $0x3f318000
DATA ·expTab+64(SB)/4, $0xb95e8083
DATA ·expTab+68(SB)/4, $0xb95e8083
DATA ·expTab+72(SB)/4, $0xb95e8083
DATA ·expTab+76(SB)/4, $0xb95e8083
DATA ·expTab+80(SB)/4, $0xb95e8083
DATA ·expTab+84(SB)/4, $0xb95e8083
DATA ·expTab+88(SB)/4, $0xb95e8083
DATA ·expTab+92(SB)/4, $0xb95e8083
DATA ·expTab+96(SB)/4, $0x39506967
DATA ·expTab+100(SB)/4, $0x39506967
DATA ·expTab+104(SB)/4, $0x39506967
DATA ·expTab+108(SB)/4, $0x39506967
DATA ·expTab+112(SB)/4, $0x39506967
DATA ·expTab+116(SB)/4, $0x39506967
DATA ·expTab+120(SB)/4, $0x39506967
DATA ·expTab+124(SB)/4, $0x39506967
DATA ·expTab+128(SB)/4, $0x3ab743ce
DATA ·expTab+132(SB)/4, $0x3ab743ce
DATA ·expTab+136(SB)/4, $0x3ab743ce
DATA ·expTab+140(SB)/4, $0x3ab743ce
DATA ·expTab+144(SB)/4, $0x3ab743ce
DATA ·expTab+148(SB)/4, $0x3ab743ce
DATA ·expTab+152(SB)/4, $0x3ab743ce
DATA ·expTab+156(SB)/4, $0x3ab743ce
DATA ·expTab+160(SB)/4, $0x3c088908
DATA ·expTab+164(SB)/4, $0x3c088908
DATA ·expTab+168(SB)/4, $0x3c088908
DATA ·expTab+172(SB)/4, $0x3c088908
DATA ·expTab+176(SB)/4, $0x3c088908
DATA ·expTab+180(SB)/4, $0x3c088908
DATA ·expTab+184(SB)/4, $0x3c088908
DATA ·expTab+188(SB)/4, $0x3c088908
DATA ·expTab+192(SB)/4, $0x3d2aa9c1
DATA ·expTab+196(SB)/4, $0x3d2aa9c1
DATA ·expTab+200(SB)/4, $0x3d2aa9c1
DATA ·expTab+204(SB)/4, $0x3d2aa9c1
DATA ·expTab+208(SB)/4, $0x3d2aa9c1
DATA ·expTab+212(SB)/4, $0x3d2aa9c1
DATA ·expTab+216(SB)/4, $0x3d2aa9c1
DATA ·expTab+220(SB)/4, $0x3d2aa9c1
DATA ·expTab+224(SB)/4, $0x3e2aaaaa
DATA ·expTab+228(SB)/4, $0x3e2aaaaa
DATA ·expTab+232(SB)/4, $0x3e2aaaaa
DATA ·expTab+236(SB)/4, $0x3e2aaaaa
DATA ·expTab+240(SB)/4, $0x3e2aaaaa
DATA ·expTab+244(SB)/4, $0x3e2aaaaa
DATA ·expTab+248(SB)/4, $0x3e2aaaaa
DATA ·expTab+252(SB)/4, $0x3e2aaaaa
DATA ·expTab+256(SB)/4, $0x3f000000
DATA ·expTab+260(SB)/4, $0x3f000000
DATA ·expTab+264(SB)/4, $0x3f000000
DATA ·expTab+268(SB)/4, $0x3f000000
DATA ·expTab+272(SB)/4, $0x3f000000
DATA ·expTab+276(SB)/4, $0x3f000000
DATA ·expTab+280(SB)/4, $0x3f000000
DATA ·expTab+284(SB)/4, $0x3f000000
DATA ·expTab+288(SB)/4, $0x3f800000
DATA ·expTab+292(SB)/4, $0x3f800000
DATA ·expTab+296(SB)/4, $0x3f800000
DATA ·expTab+300(SB)/4, $0x3f800000
DATA ·expTab+304(SB)/4, $0x3f800000
DATA ·expTab+308(SB)/4, $0x3f800000
DATA ·expTab+312(SB)/4, $0x3f800000
DATA ·expTab+316(SB)/4, $0x3f800000
DATA ·expTab+320(SB)/4, $0x0000007f
DATA ·expTab+324(SB)/4, $0x0000007f
DATA ·expTab+328(SB)/4, $0x0000007f
DATA ·expTab+332(SB)/4, $0x0000007f
DATA ·expTab+336(SB)/4, $0x0000007f
DATA ·expTab+340(SB)/4, $0x0000007f
DATA ·expTab+344(SB)/4, $0x0000007f
DATA ·expTab+348(SB)/4, $0x0000007f
DATA ·expTab+352(SB)/4, $0xc2ae999a
DATA ·expTab+356(SB)/4, $0xc2ae999a
DATA ·expTab+360(SB)/4, $0xc2ae999a
DATA ·expTab+364(SB)/4, $0xc2ae999a
DATA ·expTab+368(SB)/4, $0xc2ae999a
DATA ·expTab+372(SB)/4, $0xc2ae999a
DATA ·expTab+376(SB)/4, $0xc2ae999a
DATA ·expTab+380(SB)/4, $0xc2ae999a
DATA ·expTab+384(SB)/4, $0x42b0999a
DATA ·expTab+388(SB)/4, $0x42b0999a
DATA ·expTab+392(SB)/4, $0x42b0999a
DATA ·expTab+396(SB)/4, $0x42b0999a
DATA ·expTab+400(SB)/4, $0x42b0999a
DATA ·expTab+404(SB)/4, $0x42b0999a
DATA ·expTab+408(SB)/4, $0x42b0999a
DATA ·expTab+412(SB)/4, $0x42b0999a
GLOBL ·expTab(SB), RODATA|NOPTR, $416

// EXP8 sets x = exp(x) lanewise (8 floats) with t1, t2 as scratch; Y14 and
// Y15 must hold ExpMin and ExpMax. x is clamped (NaN stays NaN), written as
// n*ln2 + r with n = round(x*log2e), e^r comes from a degree-7 polynomial,
// and 2^n is built in the exponent bits.
#define EXP8(x, t1, t2) \
	VMAXPS x, Y14, x; \
	VMINPS x, Y15, x; \
	VMULPS ·expTab+0(SB), x, t1; \
	VROUNDPS $0, t1, t1; \
	VFNMADD231PS ·expTab+32(SB), t1, x; \
	VFNMADD231PS ·expTab+64(SB), t1, x; \
	VMOVUPS ·expTab+96(SB), t2; \
	VFMADD213PS ·expTab+128(SB), x, t2; \
	VFMADD213PS ·expTab+160(SB), x, t2; \
	VFMADD213PS ·expTab+192(SB), x, t2; \
	VFMADD213PS ·expTab+224(SB), x, t2; \
	VFMADD213PS ·expTab+256(SB), x, t2; \
	VMULPS x, t2, t2; \
	VFMADD213PS x, x, t2; \
	VADDPS ·expTab+288(SB), t2, t2; \
	VCVTPS2DQ t1, t1; \
	VPADDD ·expTab+320(SB), t1, t1; \
	VPSLLD $23, t1, t1; \
	VMULPS t1, t2, x

#define LOADCLAMP \
	VMOVUPS ·expTab+352(SB), Y14; \
	VMOVUPS ·expTab+384(SB), Y15

// HSUM8 adds the 8 lanes of Y register y (X register x is its low half)
// into lane 0 of x, in a fixed order: halves, then pairs, then neighbours.
#define HSUM8(y, x, t) \
	VEXTRACTF128 $1, y, t; \
	VADDPS t, x, x; \
	VPERMILPS $0x4E, x, t; \
	VADDPS t, x, x; \
	VPERMILPS $0xB1, x, t; \
	VADDPS t, x, x

// func dotAVX2(x, y []float32) float32
//
//	var s [32]float32 // four 8-lane accumulators, lane l of acc q sums i ≡ 8q+l (mod 32)
//	for i := range x {
//		s[...] += x[i] * y[i] // fused; len(x)%32 .. tail goes to the first accumulator, then scalar
//	}
//	return sum of the accumulators in a fixed order
//
// y must be at least as long as x.
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ        CX, $32
	JLT         dot8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ        CX, $8
	JLT         dotred
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8(Y0, X0, X1)

dot1:
	TESTQ       CX, CX
	JZ          dotdone
	VMOVSS      (SI), X4
	VFMADD231SS (DI), X4, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         dot1

dotdone:
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y []float32)
//
//	for i, v := range x {
//		y[i] += alpha * v // fused multiply-add
//	}
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ         x_base+8(FP), SI
	MOVQ         x_len+16(FP), CX
	MOVQ         y_base+32(FP), DI

axpy32:
	CMPQ        CX, $32
	JLT         axpy8
	VMOVUPS     (DI), Y1
	VMOVUPS     32(DI), Y2
	VMOVUPS     64(DI), Y3
	VMOVUPS     96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ        CX, $8
	JLT         axpy1
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpy1:
	TESTQ       CX, CX
	JZ          axpydone
	VMOVSS      (DI), X1
	VFMADD231SS (SI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         axpy1

axpydone:
	VZEROUPPER
	RET

// func scaleAVX2(alpha float32, x []float32)
//
//	for i := range x {
//		x[i] *= alpha
//	}
TEXT ·scaleAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ         x_base+8(FP), SI
	MOVQ         x_len+16(FP), CX

scale32:
	CMPQ    CX, $32
	JLT     scale8
	VMULPS  (SI), Y0, Y1
	VMULPS  32(SI), Y0, Y2
	VMULPS  64(SI), Y0, Y3
	VMULPS  96(SI), Y0, Y4
	VMOVUPS Y1, (SI)
	VMOVUPS Y2, 32(SI)
	VMOVUPS Y3, 64(SI)
	VMOVUPS Y4, 96(SI)
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     scale32

scale8:
	CMPQ    CX, $8
	JLT     scale1
	VMULPS  (SI), Y0, Y1
	VMOVUPS Y1, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     scale8

scale1:
	TESTQ  CX, CX
	JZ     scaledone
	VMULSS (SI), X0, X1
	VMOVSS X1, (SI)
	ADDQ   $4, SI
	DECQ   CX
	JMP    scale1

scaledone:
	VZEROUPPER
	RET

// func maxAVX2(x []float32) float32
//
//	m := x[0]
//	for _, v := range x {
//		m = max(m, v) // NaNs are not propagated
//	}
//	return m
//
// len(x) must be a positive multiple of 8.
TEXT ·maxAVX2(SB), NOSPLIT, $0-28
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	ADDQ    $32, SI
	SUBQ    $8, CX

max16:
	CMPQ   CX, $16
	JLT    max8
	VMAXPS (SI), Y0, Y0
	VMAXPS 32(SI), Y1, Y1
	ADDQ   $64, SI
	SUBQ   $16, CX
	JMP    max16

max8:
	TESTQ  CX, CX
	JZ     maxred
	VMAXPS (SI), Y0, Y0

maxred:
	VMAXPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4E, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xB1, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

// func expAVX2(dst, x []float32)
//
//	for i, v := range x {
//		dst[i] = exp(v) // the clamped polynomial exponential, fused multiply-adds
//	}
//
// len(x) must be a multiple of 8; dst is at least as long.
TEXT ·expAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	SHRQ $3, CX
	JZ   expdone
	LOADCLAMP

exploop:
	VMOVUPS (SI), Y0
	EXP8(Y0, Y1, Y2)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     exploop

expdone:
	VZEROUPPER
	RET

// func sigmoidAVX2(dst, x []float32)
//
//	for i, v := range x {
//		dst[i] = 1 / (1 + exp(-v))
//	}
//
// len(x) must be a multiple of 8; dst is at least as long.
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	SHRQ $3, CX
	JZ   sigdone
	LOADCLAMP
	VMOVUPS ·expTab+288(SB), Y13
	VXORPS  Y12, Y12, Y12

sigloop:
	VSUBPS  (SI), Y12, Y0
	EXP8(Y0, Y1, Y2)
	VADDPS  Y13, Y0, Y0
	VDIVPS  Y0, Y13, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sigloop

sigdone:
	VZEROUPPER
	RET

// func swigluAVX2(dst, gate, up []float32)
//
//	for i, g := range gate {
//		dst[i] = g / (1 + exp(-g)) * up[i]
//	}
//
// len(gate) must be a multiple of 8; dst and up are at least as long. dst may
// be gate or up.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ gate_base+24(FP), SI
	MOVQ gate_len+32(FP), CX
	MOVQ up_base+48(FP), DX
	SHRQ $3, CX
	JZ   swidone
	LOADCLAMP
	VMOVUPS ·expTab+288(SB), Y13
	VXORPS  Y12, Y12, Y12

swiloop:
	VMOVUPS (SI), Y3
	VSUBPS  Y3, Y12, Y0
	EXP8(Y0, Y1, Y2)
	VADDPS  Y13, Y0, Y0
	VMULPS  (DX), Y3, Y3
	VDIVPS  Y0, Y3, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     swiloop

swidone:
	VZEROUPPER
	RET

// func swigluBackwardAVX2(dgate, dup, dout, gate, up []float32)
//
//	for i, g := range gate {
//		sg := 1 / (1 + exp(-g)) // sigmoidAVX2's
//		dup[i] = dout[i] * g * sg
//		dgate[i] = dout[i] * up[i] * sg * (1 + g*(1-sg))
//	}
//
// without fused multiply-adds after the exponential. len(gate) must be a
// multiple of 8; the other slices are at least as long.
TEXT ·swigluBackwardAVX2(SB), NOSPLIT, $0-120
	MOVQ dgate_base+0(FP), DI
	MOVQ dup_base+24(FP), R8
	MOVQ dout_base+48(FP), R9
	MOVQ gate_base+72(FP), SI
	MOVQ gate_len+80(FP), CX
	MOVQ up_base+96(FP), DX
	SHRQ $3, CX
	JZ   swibdone
	LOADCLAMP
	VMOVUPS ·expTab+288(SB), Y13
	VXORPS  Y12, Y12, Y12

swibloop:
	VMOVUPS (SI), Y3
	VSUBPS  Y3, Y12, Y0
	EXP8(Y0, Y1, Y2)
	VADDPS  Y13, Y0, Y0
	VDIVPS  Y0, Y13, Y0  // sg
	VMOVUPS (R9), Y6     // dout
	VMULPS  Y3, Y6, Y4   // dout*g
	VMULPS  Y0, Y4, Y4   // dout*g*sg
	VMOVUPS Y4, (R8)
	VSUBPS  Y0, Y13, Y5  // 1-sg
	VMULPS  Y5, Y3, Y5   // g*(1-sg)
	VADDPS  Y5, Y13, Y5  // 1 + g*(1-sg)
	VMULPS  (DX), Y6, Y6 // dout*up
	VMULPS  Y0, Y6, Y6   // dout*up*sg
	VMULPS  Y5, Y6, Y6
	VMOVUPS Y6, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, R9
	DECQ    CX
	JNZ     swibloop

swibdone:
	VZEROUPPER
	RET

// func expSubSumsAVX2(dst, x []float32, m float32) (s, w float32)
//
//	for i, v := range x {
//		t := v - m
//		e := exp(t)
//		dst[i] = e
//		s += e     // in 8 lanes, added in a fixed order at the end
//		w += e * t // likewise, fused multiply-add
//	}
//
// len(x) must be a multiple of 8; dst is at least as long.
TEXT ·expSubSumsAVX2(SB), NOSPLIT, $0-64
	MOVQ         dst_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	VBROADCASTSS m+48(FP), Y13
	VXORPS       Y4, Y4, Y4
	VXORPS       Y5, Y5, Y5
	SHRQ         $3, CX
	JZ           essred
	LOADCLAMP

essloop:
	VMOVUPS     (SI), Y3
	VSUBPS      Y13, Y3, Y3
	VMOVAPS     Y3, Y0
	EXP8(Y0, Y1, Y2)
	VMOVUPS     Y0, (DI)
	VADDPS      Y0, Y4, Y4
	VFMADD231PS Y3, Y0, Y5
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         essloop

essred:
	HSUM8(Y4, X4, X1)
	HSUM8(Y5, X5, X1)
	VMOVSS X4, s+56(FP)
	VMOVSS X5, w+60(FP)
	VZEROUPPER
	RET

// func siluAVX2(dst, x []float32)
//
//	for i, v := range x {
//		dst[i] = v / (1 + exp(-v))
//	}
//
// len(x) must be a multiple of 8; dst is at least as long and may be x.
TEXT ·siluAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	SHRQ $3, CX
	JZ   siludone
	LOADCLAMP
	VMOVUPS ·expTab+288(SB), Y13
	VXORPS  Y12, Y12, Y12

siluloop:
	VMOVUPS (SI), Y3
	VSUBPS  Y3, Y12, Y0
	EXP8(Y0, Y1, Y2)
	VADDPS  Y13, Y0, Y0
	VDIVPS  Y0, Y3, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     siluloop

siludone:
	VZEROUPPER
	RET

// func dotRowsAVX2(dst, x, a []float32, ld int)
//
//	for j := range dst {
//		dst[j] = dotAVX2(x, a[j*ld:j*ld+len(x)]) // the same summation order
//	}
//
// Rows go three at a time (row r's four accumulators in Y4r..Y4r+3, x's 32
// values in Y12-Y15), the sums in dotAVX2's order: three streams of a
// matrix read at once draw more of the memory's bandwidth than one (a
// 151,936×1024 matrix-vector product on two Zen 3 threads, 7 runs each,
// measured three times: 19.2-26.6 GB/s against 18.0-20.5 one row at a time).
// The last one or two rows go one at a time.
TEXT ·dotRowsAVX2(SB), NOSPLIT, $0-80
	MOVQ  dst_base+0(FP), R8
	MOVQ  dst_len+8(FP), R9
	MOVQ  x_base+24(FP), R10
	MOVQ  x_len+32(FP), R11
	MOVQ  a_base+48(FP), R12
	MOVQ  ld+72(FP), R13
	SHLQ  $2, R13

dr3rows:
	CMPQ   R9, $3
	JLT    dr3done
	LEAQ   (R12)(R13*1), R14
	LEAQ   (R14)(R13*1), R15
	XORQ   AX, AX
	MOVQ   R11, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

dr3x32:
	CMPQ        CX, $32
	JLT         dr3x8
	VMOVUPS     (R10)(AX*4), Y12
	VMOVUPS     32(R10)(AX*4), Y13
	VMOVUPS     64(R10)(AX*4), Y14
	VMOVUPS     96(R10)(AX*4), Y15
	VFMADD231PS (R12)(AX*4), Y12, Y0
	VFMADD231PS 32(R12)(AX*4), Y13, Y1
	VFMADD231PS 64(R12)(AX*4), Y14, Y2
	VFMADD231PS 96(R12)(AX*4), Y15, Y3
	VFMADD231PS (R14)(AX*4), Y12, Y4
	VFMADD231PS 32(R14)(AX*4), Y13, Y5
	VFMADD231PS 64(R14)(AX*4), Y14, Y6
	VFMADD231PS 96(R14)(AX*4), Y15, Y7
	VFMADD231PS (R15)(AX*4), Y12, Y8
	VFMADD231PS 32(R15)(AX*4), Y13, Y9
	VFMADD231PS 64(R15)(AX*4), Y14, Y10
	VFMADD231PS 96(R15)(AX*4), Y15, Y11
	ADDQ        $32, AX
	SUBQ        $32, CX
	JMP         dr3x32

dr3x8:
	CMPQ        CX, $8
	JLT         dr3red
	VMOVUPS     (R10)(AX*4), Y12
	VFMADD231PS (R12)(AX*4), Y12, Y0
	VFMADD231PS (R14)(AX*4), Y12, Y4
	VFMADD231PS (R15)(AX*4), Y12, Y8
	ADDQ        $8, AX
	SUBQ        $8, CX
	JMP         dr3x8

dr3red:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8(Y0, X0, X1)
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y6, Y4, Y4
	HSUM8(Y4, X4, X5)
	VADDPS Y9, Y8, Y8
	VADDPS Y11, Y10, Y10
	VADDPS Y10, Y8, Y8
	HSUM8(Y8, X8, X9)

dr3x1:
	TESTQ       CX, CX
	JZ          dr3store
	VMOVSS      (R10)(AX*4), X12
	VFMADD231SS (R12)(AX*4), X12, X0
	VFMADD231SS (R14)(AX*4), X12, X4
	VFMADD231SS (R15)(AX*4), X12, X8
	INCQ        AX
	DECQ        CX
	JMP         dr3x1

dr3store:
	VMOVSS X0, (R8)
	VMOVSS X4, 4(R8)
	VMOVSS X8, 8(R8)
	ADDQ   $12, R8
	LEAQ   (R15)(R13*1), R12
	SUBQ   $3, R9
	JMP    dr3rows

dr3done:
	TESTQ R9, R9
	JZ    drdone

drrow:
	MOVQ   R10, SI
	MOVQ   R12, DI
	MOVQ   R11, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dr32:
	CMPQ        CX, $32
	JLT         dr8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dr32

dr8:
	CMPQ        CX, $8
	JLT         drred
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dr8

drred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8(Y0, X0, X1)

dr1:
	TESTQ       CX, CX
	JZ          drstore
	VMOVSS      (SI), X4
	VFMADD231SS (DI), X4, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         dr1

drstore:
	VMOVSS X0, (R8)
	ADDQ   $4, R8
	ADDQ   R13, R12
	DECQ   R9
	JNZ    drrow

drdone:
	VZEROUPPER
	RET

// axpyRowsAVX2 and gerRowsAVX2 repeat axpyAVX2's loop inline (assembler
// macros cannot hold labels).

// func axpyRowsAVX2(y, alpha, a []float32, ld int)
//
//	for j, s := range alpha {
//		axpyAVX2(s, a[j*ld:j*ld+len(y)], y)
//	}
TEXT ·axpyRowsAVX2(SB), NOSPLIT, $0-80
	MOVQ  y_base+0(FP), R8
	MOVQ  y_len+8(FP), R11
	MOVQ  alpha_base+24(FP), R9
	MOVQ  alpha_len+32(FP), R10
	MOVQ  a_base+48(FP), R12
	MOVQ  ld+72(FP), R13
	SHLQ  $2, R13
	TESTQ R10, R10
	JZ    ardone

arrow:
	VBROADCASTSS (R9), Y0
	MOVQ         R12, SI
	MOVQ         R8, DI
	MOVQ         R11, CX

ar32:
	CMPQ        CX, $32
	JLT         ar8
	VMOVUPS     (DI), Y1
	VMOVUPS     32(DI), Y2
	VMOVUPS     64(DI), Y3
	VMOVUPS     96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         ar32

ar8:
	CMPQ        CX, $8
	JLT         ar1
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         ar8

ar1:
	TESTQ       CX, CX
	JZ          arnext
	VMOVSS      (DI), X1
	VFMADD231SS (SI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         ar1

arnext:
	ADDQ $4, R9
	ADDQ R13, R12
	DECQ R10
	JNZ  arrow

ardone:
	VZEROUPPER
	RET

// func gerRowsAVX2(a []float32, ld int, alpha, x []float32)
//
//	for j, s := range alpha {
//		axpyAVX2(s, x, a[j*ld:j*ld+len(x)])
//	}
TEXT ·gerRowsAVX2(SB), NOSPLIT, $0-80
	MOVQ  a_base+0(FP), R12
	MOVQ  ld+24(FP), R13
	SHLQ  $2, R13
	MOVQ  alpha_base+32(FP), R9
	MOVQ  alpha_len+40(FP), R10
	MOVQ  x_base+56(FP), R8
	MOVQ  x_len+64(FP), R11
	TESTQ R10, R10
	JZ    grdone

grrow:
	VBROADCASTSS (R9), Y0
	MOVQ         R8, SI
	MOVQ         R12, DI
	MOVQ         R11, CX

gr32:
	CMPQ        CX, $32
	JLT         gr8
	VMOVUPS     (DI), Y1
	VMOVUPS     32(DI), Y2
	VMOVUPS     64(DI), Y3
	VMOVUPS     96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         gr32

gr8:
	CMPQ        CX, $8
	JLT         gr1
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         gr8

gr1:
	TESTQ       CX, CX
	JZ          grnext
	VMOVSS      (DI), X1
	VFMADD231SS (SI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         gr1

grnext:
	ADDQ $4, R9
	ADDQ R13, R12
	DECQ R10
	JNZ  grrow

grdone:
	VZEROUPPER
	RET

// func dotBF16AVX2(w []uint16, x []float32) float32
//
// Σ bf16(w[i])·x[i], summed as dotAVX2 sums (four 8-lane accumulators over
// runs of 32, then runs of 8 into the first, a fixed horizontal sum, then a
// scalar tail). Each bfloat16 is widened in registers: VPMOVZXWD puts it in
// the low half of a 32-bit lane and VPSLLD 16 moves it to the top, which is
// the float32 of the same value. x must be at least as long as w.
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-52
	MOVQ   w_base+0(FP), SI
	MOVQ   w_len+8(FP), CX
	MOVQ   x_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

bdot32:
	CMPQ        CX, $32
	JLT         bdot8
	PREFETCHT0  1024(SI)
	VPMOVZXWD   (SI), Y4
	VPMOVZXWD   16(SI), Y5
	VPMOVZXWD   32(SI), Y6
	VPMOVZXWD   48(SI), Y7
	VPSLLD      $16, Y4, Y4
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         bdot32

bdot8:
	CMPQ        CX, $8
	JLT         bdotred
	VPMOVZXWD   (SI), Y4
	VPSLLD      $16, Y4, Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         bdot8

bdotred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8(Y0, X0, X1)

bdot1:
	TESTQ       CX, CX
	JZ          bdotdone
	MOVWLZX     (SI), AX
	SHLL        $16, AX
	VMOVD       AX, X4
	VFMADD231SS (DI), X4, X0
	ADDQ        $2, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         bdot1

bdotdone:
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// One 32-value step of a bfloat16 row for dotRowsBF16x3AVX2: the row's
// values at AX (elements) from row are widened in Y12-Y15 and multiplied
// into the accumulators a0-a3 with x's 32 values at AX.
#define BF16ROW32(row, a0, a1, a2, a3) \
	VPMOVZXWD   0(row)(AX*2), Y12; \
	VPMOVZXWD   16(row)(AX*2), Y13; \
	VPMOVZXWD   32(row)(AX*2), Y14; \
	VPMOVZXWD   48(row)(AX*2), Y15; \
	VPSLLD      $16, Y12, Y12; \
	VPSLLD      $16, Y13, Y13; \
	VPSLLD      $16, Y14, Y14; \
	VPSLLD      $16, Y15, Y15; \
	VFMADD231PS 0(DI)(AX*4), Y12, a0; \
	VFMADD231PS 32(DI)(AX*4), Y13, a1; \
	VFMADD231PS 64(DI)(AX*4), Y14, a2; \
	VFMADD231PS 96(DI)(AX*4), Y15, a3

// func dotRowsBF16x3AVX2(dst []float32, w []uint16, ld, per int, x []float32)
//
//	for j := 0; j < 3*per; j++ {
//		dst[j] = dotBF16AVX2(w[j*ld:j*ld+len(x)], x) // the same summation order
//	}
//
// as three streams, rows j, per+j and 2·per+j together for j < per (row r's
// accumulators in Y4r..Y4r+3, the widened values in Y12-Y15, x read from
// memory). Each stream runs through consecutive rows, so each reads memory
// in order.
TEXT ·dotRowsBF16x3AVX2(SB), NOSPLIT, $0-88
	MOVQ dst_base+0(FP), R8
	MOVQ w_base+24(FP), R12
	MOVQ ld+48(FP), R13
	SHLQ $1, R13
	MOVQ per+56(FP), R9
	MOVQ x_base+64(FP), DI
	MOVQ x_len+72(FP), R11
	MOVQ R9, R10
	IMULQ R13, R10          // the streams' distance in bytes of w
	MOVQ R9, DX
	SHLQ $2, DX             // and in bytes of dst
	TESTQ R9, R9
	JZ    bxdone

bxrows:
	LEAQ   (R12)(R10*1), R14
	LEAQ   (R14)(R10*1), R15
	XORQ   AX, AX
	MOVQ   R11, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

bx32:
	CMPQ CX, $32
	JLT  bx8
	PREFETCHT0  1024(R12)(AX*2)
	PREFETCHT0  1024(R14)(AX*2)
	PREFETCHT0  1024(R15)(AX*2)
	BF16ROW32(R12, Y0, Y1, Y2, Y3)
	BF16ROW32(R14, Y4, Y5, Y6, Y7)
	BF16ROW32(R15, Y8, Y9, Y10, Y11)
	ADDQ $32, AX
	SUBQ $32, CX
	JMP  bx32

bx8:
	CMPQ CX, $8
	JLT  bxred
	VPMOVZXWD   (R12)(AX*2), Y12
	VPSLLD      $16, Y12, Y12
	VFMADD231PS (DI)(AX*4), Y12, Y0
	VPMOVZXWD   (R14)(AX*2), Y12
	VPSLLD      $16, Y12, Y12
	VFMADD231PS (DI)(AX*4), Y12, Y4
	VPMOVZXWD   (R15)(AX*2), Y12
	VPSLLD      $16, Y12, Y12
	VFMADD231PS (DI)(AX*4), Y12, Y8
	ADDQ $8, AX
	SUBQ $8, CX
	JMP  bx8

bxred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8(Y0, X0, X1)
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y6, Y4, Y4
	HSUM8(Y4, X4, X5)
	VADDPS Y9, Y8, Y8
	VADDPS Y11, Y10, Y10
	VADDPS Y10, Y8, Y8
	HSUM8(Y8, X8, X9)

bx1:
	TESTQ CX, CX
	JZ    bxstore
	MOVWLZX     (R12)(AX*2), BX
	SHLL        $16, BX
	VMOVD       BX, X12
	VFMADD231SS (DI)(AX*4), X12, X0
	MOVWLZX     (R14)(AX*2), BX
	SHLL        $16, BX
	VMOVD       BX, X12
	VFMADD231SS (DI)(AX*4), X12, X4
	MOVWLZX     (R15)(AX*2), BX
	SHLL        $16, BX
	VMOVD       BX, X12
	VFMADD231SS (DI)(AX*4), X12, X8
	INCQ AX
	DECQ CX
	JMP  bx1

bxstore:
	VMOVSS X0, (R8)
	VMOVSS X4, (R8)(DX*1)
	LEAQ   (R8)(DX*2), SI
	VMOVSS X8, (SI)
	ADDQ   $4, R8
	ADDQ   R13, R12
	DECQ   R9
	JNZ    bxrows

bxdone:
	VZEROUPPER
	RET
