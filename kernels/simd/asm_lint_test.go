package simd

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// legacySSE matches scalar and packed SSE instructions without the VEX
// prefix. On AMD Zen 3, executing one while the upper halves of the ymm
// registers hold data costs hundreds of cycles (measured: the 6×16 SGEMM
// micro-kernel's legacy MOVSS/UCOMISS on beta made each call about 130 ns
// slower, 40% of its time at k = 128), so the assembly uses the VEX forms
// throughout.
var legacySSE = regexp.MustCompile(`^\s*(MOVSS|MOVSD|MOVUPS|MOVAPS|MOVD|ADDSS|SUBSS|MULSS|DIVSS|UCOMISS|COMISS|MAXSS|MINSS|SQRTSS|XORPS|ANDPS|SHUFPS|ADDPS|MULPS|PXOR|PSHUFD|CVTSS2SD|CVTSD2SS)\s`)

// ymmReg matches a ymm register operand.
var ymmReg = regexp.MustCompile(`\bY([0-9]|1[0-5])\b`)

// TestAssemblyUsesVEXOnly fails on any legacy SSE instruction in the
// package's assembly, and on a function that touches a ymm register and
// returns without VZEROUPPER (Go's compiled code uses legacy SSE).
func TestAssemblyUsesVEXOnly(t *testing.T) {
	files, err := filepath.Glob("*.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no assembly files found (%v)", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fn, prev string
		ymm := false
		for i, line := range strings.Split(string(src), "\n") {
			code, _, _ := strings.Cut(line, "//")
			switch {
			case strings.HasPrefix(code, "TEXT"):
				fn, ymm = code, false
			case legacySSE.MatchString(code):
				t.Errorf("%s:%d: legacy SSE instruction %q: use its VEX form", f, i+1, strings.TrimSpace(code))
			}
			if ymmReg.MatchString(code) {
				ymm = true
			}
			if strings.TrimSpace(code) == "RET" && ymm && strings.TrimSpace(prev) != "VZEROUPPER" {
				t.Errorf("%s:%d: %s returns without VZEROUPPER after using ymm registers", f, i+1, fn)
			}
			if strings.TrimSpace(code) != "" {
				prev = code
			}
		}
	}
}
