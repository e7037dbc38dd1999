#!/usr/bin/env bash
# bench-openblas.sh: OpenBLAS cblas_sgemm GFLOP/s for the shapes of the
# top-level bench_test.go (BenchmarkSgemm, same names), with 1 and 2 threads.
#
# Installs Debian's libopenblas-dev when it is missing, builds a small C
# harness and prints one line per shape and thread count (median of runs).
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the run so OpenBLAS
# picks its own kernel; the core it picked is printed first.
#
# With WITH_GO=1 it then builds a cgo program that times frontier's
# simd.Sgemm, OpenBLAS and gonum in turn in one process, ROUNDS samples each
# (default 7), on the same shapes (or those whose name contains ONLY), and
# prints medians and ratios: the comparison to trust on a shared machine.
#
# Usage: [WITH_GO=1 [ROUNDS=7] [ONLY=512]] scripts/bench-openblas.sh [reps-scale]   (default 1.0)
set -euo pipefail

if ! { [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ] ||
	ls /usr/include/x86_64-linux-gnu/openblas*/cblas.h >/dev/null 2>&1; }; then
	echo "installing libopenblas-dev..." >&2
	apt-get update && apt-get install -y libopenblas-dev
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/bench.c" <<'EOF'
/* Median-of-runs SGEMM GFLOP/s through CBLAS, row-major. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>

extern void openblas_set_num_threads(int);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct shape { const char *name; int m, n, k, ta, tb; };

int main(int argc, char **argv) {
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	struct shape shapes[] = {
		{"64x64x64", 64, 64, 64, 0, 0},
		{"128x128x128", 128, 128, 128, 0, 0},
		{"256x256x256", 256, 256, 256, 0, 0},
		{"512x512x512", 512, 512, 512, 0, 0},
		{"1024x1024x1024", 1024, 1024, 1024, 0, 0},
		{"2048x2048x2048", 2048, 2048, 2048, 0, 0},
		{"q_512x2048x1024", 512, 2048, 1024, 0, 0},
		{"kv_512x1024x1024", 512, 1024, 1024, 0, 0},
		{"o_512x1024x2048", 512, 1024, 2048, 0, 0},
		{"gateup_512x3072x1024", 512, 3072, 1024, 0, 0},
		{"down_512x1024x3072", 512, 1024, 3072, 0, 0},
		{"gateupNT_512x1024x3072", 512, 1024, 3072, 0, 1},
		{"gateupTN_1024x3072x512", 1024, 3072, 512, 1, 0},
	};
	int ns = sizeof shapes / sizeof shapes[0];
	printf("config: %s\ncore: %s\n", openblas_get_config(), openblas_get_corename());
	for (int th = 1; th <= 2; th++) {
		openblas_set_num_threads(th);
		for (int si = 0; si < ns; si++) {
			struct shape s = shapes[si];
			int lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
			long asz = (long)s.m * s.k, bsz = (long)s.k * s.n, csz = (long)s.m * s.n;
			float *A = malloc(sizeof(float) * asz), *B = malloc(sizeof(float) * bsz), *C = malloc(sizeof(float) * csz);
			srand(1);
			for (long i = 0; i < asz; i++) A[i] = rand() / (float)RAND_MAX - 0.5f;
			for (long i = 0; i < bsz; i++) B[i] = rand() / (float)RAND_MAX - 0.5f;
			memset(C, 0, sizeof(float) * csz);
			double flop = 2.0 * s.m * s.n * (double)s.k;
			enum CBLAS_TRANSPOSE ta = s.ta ? CblasTrans : CblasNoTrans, tb = s.tb ? CblasTrans : CblasNoTrans;
			for (int w = 0; w < 2; w++)
				cblas_sgemm(CblasRowMajor, ta, tb, s.m, s.n, s.k, 1.0f, A, lda, B, ldb, 0.0f, C, s.n);
			int reps = (int)(scale * 2e9 * th / flop);
			if (reps < 9) reps = 9;
			if (reps > 301) reps = 301;
			double *ts = malloc(sizeof(double) * reps);
			for (int r = 0; r < reps; r++) {
				double t0 = now();
				cblas_sgemm(CblasRowMajor, ta, tb, s.m, s.n, s.k, 1.0f, A, lda, B, ldb, 0.0f, C, s.n);
				ts[r] = now() - t0;
			}
			qsort(ts, reps, sizeof(double), cmpd);
			printf("openblas %-24s threads=%d reps=%3d median=%9.3f ms  %7.1f GFLOP/s  (best %.1f)\n",
				s.name, th, reps, ts[reps / 2] * 1e3, flop / ts[reps / 2] / 1e9, flop / ts[0] / 1e9);
			fflush(stdout);
			free(A); free(B); free(C); free(ts);
		}
	}
	return 0;
}
EOF

inc=""
for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/x86_64-linux-gnu/openblas64-pthread; do
	[ -e "$d/cblas.h" ] && inc="-I$d" && break
done
cc -O2 $inc -o "$work/bench" "$work/bench.c" -lopenblas

echo "OPENBLAS_CORETYPE was '${OPENBLAS_CORETYPE-}' OPENBLAS_L2_SIZE was '${OPENBLAS_L2_SIZE-}' (both unset for the run)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$work/bench" "${1:-1.0}"

[ "${WITH_GO:-0}" = 1 ] || exit 0

# Interleaved comparison in one process: a cgo program calls frontier's
# simd.Sgemm, OpenBLAS's cblas_sgemm and gonum's Sgemm in turn, sample after
# sample, so that the load of a shared machine hits all three alike. It prints
# medians of wall-clock GFLOP/s and of GFLOP per CPU-second times the thread
# count (which discounts time the process spent descheduled). OpenBLAS's idle
# threads are told not to spin (OPENBLAS_THREAD_TIMEOUT=4): spinning would
# steal the core from the next sample.
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work/cmp"
cp "$repo/go.sum" "$work/cmp/"
cat >"$work/cmp/go.mod" <<EOM
module sgemmcmp

go 1.26.0

require github.com/frontier-rl/frontier v0.0.0

replace github.com/frontier-rl/frontier => $repo
EOM
cat >"$work/cmp/main.go" <<'EOGO'
package main

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
extern void openblas_set_num_threads(int);
static void sg(int ta, int tb, int m, int n, int k, float *a, int lda, float *b, int ldb, float *c, int ldc) {
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
		m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
*/
import "C"

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/frontier-rl/frontier/kernels/par"
	"github.com/frontier-rl/frontier/kernels/simd"
)

type shape struct {
	name    string
	m, n, k int
	ta, tb  bool
}

func median(x []float64) float64 {
	x = slices.Clone(x)
	slices.Sort(x)
	return x[len(x)/2]
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func main() {
	rounds := flag.Int("rounds", 7, "samples per implementation")
	only := flag.String("only", "", "run the shapes whose name contains this")
	flag.Parse()
	var shapes []shape
	for _, n := range []int{64, 128, 256, 512, 1024, 2048} {
		shapes = append(shapes, shape{fmt.Sprintf("%dx%dx%d", n, n, n), n, n, n, false, false})
	}
	shapes = append(shapes,
		shape{"q_512x2048x1024", 512, 2048, 1024, false, false},
		shape{"kv_512x1024x1024", 512, 1024, 1024, false, false},
		shape{"o_512x1024x2048", 512, 1024, 2048, false, false},
		shape{"gateup_512x3072x1024", 512, 3072, 1024, false, false},
		shape{"down_512x1024x3072", 512, 1024, 3072, false, false},
		shape{"gateupNT_512x1024x3072", 512, 1024, 3072, false, true},
		shape{"gateupTN_1024x3072x512", 1024, 3072, 512, true, false})
	impl := gonum.Implementation{}
	// frontier's packing buffers and worker pool, kept between calls as the CPU backend keeps them
	ws := simd.NewWorkspace(par.NewPool(2))
	fmt.Printf("frontier kernel %s; medians of GFLOP/s (wall) | of GFLOP per CPU-second x threads\n", simd.SgemmKernel())
	for _, th := range []int{1, 2} {
		C.openblas_set_num_threads(C.int(th))
		for _, s := range shapes {
			if *only != "" && !strings.Contains(s.name, *only) {
				continue
			}
			r := rand.New(rand.NewPCG(1, 2))
			fill := func(n int) []float32 {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(r.Float64() - 0.5)
				}
				return x
			}
			a, b, c := fill(s.m*s.k), fill(s.k*s.n), make([]float32, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.ta {
				lda = s.m
			}
			if s.tb {
				ldb = s.k
			}
			ta, tb := blas.NoTrans, blas.NoTrans
			cta, ctb := C.int(0), C.int(0)
			if s.ta {
				ta, cta = blas.Trans, 1
			}
			if s.tb {
				tb, ctb = blas.Trans, 1
			}
			flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			impls := []struct {
				run  func()
				reps int
			}{
				{func() { ws.Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n, th) }, max(1, int(1e9/flop))},
				{func() {
					C.sg(cta, ctb, C.int(s.m), C.int(s.n), C.int(s.k), (*C.float)(&a[0]), C.int(lda),
						(*C.float)(&b[0]), C.int(ldb), (*C.float)(&c[0]), C.int(s.n))
				}, max(1, int(1e9/flop))},
				{func() {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(th))
					impl.Sgemm(ta, tb, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
				}, max(1, int(1.5e8/flop))},
			}
			wall := make([][]float64, len(impls))
			cpu := make([][]float64, len(impls))
			for _, im := range impls {
				im.run()
			}
			for range *rounds {
				for i, im := range impls {
					c0, t0 := cpuSeconds(), time.Now()
					for range im.reps {
						im.run()
					}
					g := flop * float64(im.reps) / 1e9
					wall[i] = append(wall[i], g/time.Since(t0).Seconds())
					cpu[i] = append(cpu[i], g/(cpuSeconds()-c0)*float64(th))
				}
			}
			w := []float64{median(wall[0]), median(wall[1]), median(wall[2])}
			u := []float64{median(cpu[0]), median(cpu[1]), median(cpu[2])}
			fmt.Printf("%-24s threads=%d  wall: frontier %6.1f openblas %6.1f gonum %5.1f  f/o %.2f f/g %4.1f"+
				"  | cpu: frontier %6.1f openblas %6.1f gonum %5.1f  f/o %.2f\n",
				s.name, th, w[0], w[1], w[2], w[0]/w[1], w[0]/w[2], u[0], u[1], u[2], u[0]/u[1])
		}
	}
}
EOGO
(cd "$work/cmp" && PATH="$PATH:/usr/local/go/bin" CGO_CFLAGS="$inc" GOFLAGS=-mod=mod go build -o cmp .) >&2
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_THREAD_TIMEOUT=4 "$work/cmp/cmp" -rounds "${ROUNDS:-7}" ${ONLY:+-only "$ONLY"}
