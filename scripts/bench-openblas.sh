#!/usr/bin/env bash
# bench-openblas.sh: OpenBLAS cblas_sgemm GFLOP/s for the shapes used by
# kernels/simd/bench_test.go (BenchmarkSgemm), with 1 and 2 threads.
#
# Installs Debian's libopenblas-dev when it is missing, builds a small C
# harness and prints one line per shape and thread count (median of runs).
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the run so OpenBLAS
# picks its own kernel; the core it picked is printed first.
#
# Usage: scripts/bench-openblas.sh [reps-scale]   (default 1.0)
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
