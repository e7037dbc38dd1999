/* machine_probe.c: the processor's single-precision FMA peak and its read
 * bandwidth, measured on 1 and on T threads, for scripts/bench-vs-pytorch.sh.
 *
 * Peak: each thread runs 12 independent chains of 8-wide fused multiply-adds
 * (AVX2+FMA, 16 FLOP per instruction), enough to cover the latency on
 * current x86 cores. Bandwidth: each thread sums its share of a 512 MiB
 * array with 256-bit loads. Both report the best of 5 trials.
 *
 * Build: cc -O2 -mavx2 -mfma -pthread -o probe machine_probe.c
 * Run:   ./probe [threads]   (default 2) */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

enum { FMA_ITERS = 50 * 1000 * 1000 };

struct job {
	const float *x;
	long n;
	float out;
};

static void *fma_loop(void *arg) {
	struct job *j = arg;
	__m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
	/* Twelve different starting values: with equal ones the compiler may
	 * (and gcc -O2 does) merge the twelve chains into one. */
	__m256 c0 = _mm256_set1_ps(1.00f), c1 = _mm256_set1_ps(1.01f), c2 = _mm256_set1_ps(1.02f);
	__m256 c3 = _mm256_set1_ps(1.03f), c4 = _mm256_set1_ps(1.04f), c5 = _mm256_set1_ps(1.05f);
	__m256 c6 = _mm256_set1_ps(1.06f), c7 = _mm256_set1_ps(1.07f), c8 = _mm256_set1_ps(1.08f);
	__m256 c9 = _mm256_set1_ps(1.09f), c10 = _mm256_set1_ps(1.10f), c11 = _mm256_set1_ps(1.11f);
	for (long i = 0; i < FMA_ITERS; i++) {
		c0 = _mm256_fmadd_ps(c0, a, b); c1 = _mm256_fmadd_ps(c1, a, b);
		c2 = _mm256_fmadd_ps(c2, a, b); c3 = _mm256_fmadd_ps(c3, a, b);
		c4 = _mm256_fmadd_ps(c4, a, b); c5 = _mm256_fmadd_ps(c5, a, b);
		c6 = _mm256_fmadd_ps(c6, a, b); c7 = _mm256_fmadd_ps(c7, a, b);
		c8 = _mm256_fmadd_ps(c8, a, b); c9 = _mm256_fmadd_ps(c9, a, b);
		c10 = _mm256_fmadd_ps(c10, a, b); c11 = _mm256_fmadd_ps(c11, a, b);
	}
	__m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
		_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)),
			_mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11))));
	float v[8];
	_mm256_storeu_ps(v, s);
	j->out = v[0];
	return NULL;
}

static void *read_loop(void *arg) {
	struct job *j = arg;
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	for (long i = 0; i + 32 <= j->n; i += 32) {
		s0 = _mm256_add_ps(s0, _mm256_loadu_ps(j->x + i));
		s1 = _mm256_add_ps(s1, _mm256_loadu_ps(j->x + i + 8));
		s2 = _mm256_add_ps(s2, _mm256_loadu_ps(j->x + i + 16));
		s3 = _mm256_add_ps(s3, _mm256_loadu_ps(j->x + i + 24));
	}
	float v[8];
	_mm256_storeu_ps(v, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	j->out = v[0];
	return NULL;
}

/* run starts th threads of fn over jobs and returns the wall time. */
static double run(int th, void *(*fn)(void *), struct job *jobs) {
	pthread_t t[64];
	double t0 = now();
	for (int i = 0; i < th; i++) pthread_create(&t[i], NULL, fn, &jobs[i]);
	for (int i = 0; i < th; i++) pthread_join(t[i], NULL);
	return now() - t0;
}

int main(int argc, char **argv) {
	int maxth = argc > 1 ? atoi(argv[1]) : 2;
	if (maxth < 1 || maxth > 64) maxth = 2;
	long n = 512L << 20 >> 2; /* 512 MiB of floats */
	float *x = malloc(n * sizeof(float));
	for (long i = 0; i < n; i++) x[i] = (float)(i & 1023) * 1e-3f;
	struct job jobs[64];
	for (int th = 1; th <= maxth; th = th == maxth ? maxth + 1 : maxth) {
		double best = 1e30;
		for (int r = 0; r < 5; r++) {
			double t = run(th, fma_loop, jobs);
			if (t < best) best = t;
		}
		printf("fma_peak threads=%d %.1f GFLOP/s (AVX2 256-bit FMA)\n", th, 16.0 * 12 * FMA_ITERS * th / best / 1e9);
		best = 1e30;
		for (int r = 0; r < 5; r++) {
			for (int i = 0; i < th; i++) {
				jobs[i].x = x + n / th * i;
				jobs[i].n = n / th;
			}
			double t = run(th, read_loop, jobs);
			if (t < best) best = t;
		}
		printf("read_bandwidth threads=%d %.1f GB/s (512 MiB, 256-bit loads)\n", th, n * 4.0 / best / 1e9);
		fflush(stdout);
	}
	return (int)(jobs[0].out * 0);
}
