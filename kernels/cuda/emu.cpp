//go:build cudaemu && !cuda

// emu.cpp runs the CUDA C kernels of src/ on the host, for the cudaemu test
// build only: every GPU thread of a block is a coroutine on one OS thread,
// blocks run one after another, and __syncthreads and the warp shuffles are
// barriers that the scheduler resolves. A barrier that cannot complete
// (threads of a block or a warp waiting at different places) is reported as
// an error instead of hanging. __shared__ variables become function statics,
// shared by the threads of the one block that runs at a time. Warps run far
// ahead of each other (see emu_run_block), in both orders, so a missing
// __syncthreads usually shows up as a wrong result. It checks index
// arithmetic, argument order, barriers and control flow; it says nothing about
// speed, and it does not model races between the lanes of one warp.

#undef _FORTIFY_SOURCE  // longjmp between stacks is the point here
#include <setjmp.h>
#include <ucontext.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>
#include <algorithm>
#include <functional>
#include <vector>

using std::max;
using std::min;

struct emu_dim3 {
    unsigned x, y, z;
};
static emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static

enum { RUN, WAIT_BLOCK, WAIT_WARP, DONE };

// A fiber enters its stack once per launch through setcontext; after that,
// switches are _setjmp/_longjmp pairs, which (unlike swapcontext) make no
// system call to save the signal mask.
struct emu_fiber {
    ucontext_t uc;
    jmp_buf env;
    int state;
    bool started;
};

static const size_t emu_stack = 256 << 10;
static jmp_buf emu_sched_env;
static std::vector<emu_fiber> emu_fibers;
static std::vector<char> emu_stacks;
static unsigned emu_current;
static double emu_xchg[1024];
static std::function<void()> emu_kernel;

// emu_wait parks the running fiber in state and returns to the scheduler; it
// returns when the scheduler resumes the fiber.
static void emu_wait(int state) {
    emu_fiber& f = emu_fibers[emu_current];
    f.state = state;
    if (!_setjmp(f.env)) _longjmp(emu_sched_env, 1);
}

static inline void __syncthreads() { emu_wait(WAIT_BLOCK); }

template <class T>
static inline T __shfl_xor_sync(unsigned, T v, int lane_mask) {
    unsigned t = threadIdx.x;
    emu_xchg[t] = (double)v;  // exact for float and double
    emu_wait(WAIT_WARP);
    T r = (T)emu_xchg[t ^ (unsigned)lane_mask];
    emu_wait(WAIT_WARP);  // nobody overwrites a slot before its partner read it
    return r;
}

// emu_fiber_main runs the kernel once per block, for the whole launch.
static void emu_fiber_main() {
    for (;;) {
        emu_kernel();
        emu_wait(DONE);
    }
}

// emu_enter runs fiber t until it waits or finishes the block.
static void emu_enter(unsigned t) {
    emu_fiber& f = emu_fibers[t];
    emu_current = t;
    threadIdx = {t, 0, 0};
    if (!_setjmp(emu_sched_env)) {
        if (!f.started) {
            f.started = true;
            setcontext(&f.uc);
        }
        _longjmp(f.env, 1);
    }
}

// emu_run_block runs one block to completion; it returns false on a deadlock.
// Each warp in turn runs as far as it can (through its warp barriers) before
// the next warp starts, up to a __syncthreads; warps and lanes go in
// increasing order in even blocks and in decreasing order in odd ones. A warp
// thus runs ahead of the others, and a read of shared memory that lacks a
// barrier after (or before) the write it depends on sees the wrong data in
// one of the two orders, which the tests comparing results then catch.
static bool emu_run_block(unsigned threads, bool reverse) {
    unsigned warps = threads / 32;
    for (unsigned t = 0; t < threads; t++) emu_fibers[t].state = RUN;
    for (;;) {
        for (unsigned wi = 0; wi < warps; wi++) {
            unsigned w = reverse ? warps - 1 - wi : wi;
            for (;;) {
                for (unsigned li = 0; li < 32; li++) {
                    unsigned t = w * 32 + (reverse ? 31 - li : li);
                    if (emu_fibers[t].state == RUN) emu_enter(t);
                }
                bool any = false, all = true;
                for (unsigned t = w * 32; t < w * 32 + 32; t++) {
                    int s = emu_fibers[t].state;
                    if (s == DONE) continue;
                    any = true;
                    if (s != WAIT_WARP) all = false;
                }
                if (!any || !all) break;
                for (unsigned t = w * 32; t < w * 32 + 32; t++)
                    if (emu_fibers[t].state == WAIT_WARP) emu_fibers[t].state = RUN;
            }
        }
        bool live = false, allBlock = true;
        for (unsigned t = 0; t < threads; t++) {
            int s = emu_fibers[t].state;
            if (s != DONE) live = true;
            if (s != DONE && s != WAIT_BLOCK) allBlock = false;
        }
        if (!live) return true;
        if (!allBlock) return false;
        for (unsigned t = 0; t < threads; t++)
            if (emu_fibers[t].state == WAIT_BLOCK) emu_fibers[t].state = RUN;
    }
}

static int emu_grid(unsigned gx, unsigned gy, unsigned threads, std::function<void()> k, char* err, int errlen) {
    if (threads == 0 || threads > 1024 || threads % 32 != 0) {
        snprintf(err, errlen, "block of %u threads", threads);
        return 1;
    }
    blockDim = {threads, 1, 1};
    gridDim = {gx, gy, 1};
    emu_fibers.assign(threads, emu_fiber{});
    emu_stacks.resize(threads * emu_stack);
    emu_kernel = std::move(k);
    for (unsigned t = 0; t < threads; t++) {
        emu_fiber& f = emu_fibers[t];
        getcontext(&f.uc);
        f.uc.uc_stack.ss_sp = &emu_stacks[t * emu_stack];
        f.uc.uc_stack.ss_size = emu_stack;
        f.uc.uc_link = nullptr;  // emu_fiber_main never returns
        makecontext(&f.uc, emu_fiber_main, 0);
    }
    for (unsigned by = 0; by < gy; by++) {
        for (unsigned bx = 0; bx < gx; bx++) {
            blockIdx = {bx, by, 0};
            if (!emu_run_block(threads, ((bx + by) & 1) != 0)) {
                snprintf(err, errlen, "block (%u, %u): threads wait at different barriers", bx, by);
                return 1;
            }
        }
    }
    return 0;
}

#include "src/attention.cu"
#include "src/elementwise.cu"
#include "src/embedding.cu"
#include "src/norm.cu"
#include "src/reduce.cu"
#include "src/rope.cu"
#include "src/softmax.cu"

#define P(i) ((float*)(uintptr_t)a[i])
#define PD(i) ((double*)(uintptr_t)a[i])
#define PI(i) ((int*)(uintptr_t)a[i])
#define I(i) ((int)(uint32_t)a[i])
#define L(i) ((long long)a[i])
#define F(i) emu_f32(a[i])

static float emu_f32(uint64_t v) {
    uint32_t u = (uint32_t)v;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// emu_launch runs kernel name with its arguments in 8-byte slots, each cast
// to the kernel's parameter type (the order below is the kernels' signatures).
extern "C" int emu_launch(const char* name, unsigned gx, unsigned gy, unsigned threads, const uint64_t* a, int nargs,
                          char* err, int errlen) {
    struct entry {
        const char* name;
        int nargs;
        std::function<void()> fn;
    };
    const entry table[] = {
        {"axpy", 4, [&] { axpy(P(0), P(1), F(2), L(3)); }},
        {"scale", 3, [&] { scale(P(0), F(1), L(2)); }},
        {"swiglu", 4, [&] { swiglu(P(0), P(1), P(2), L(3)); }},
        {"swiglu_bwd", 6, [&] { swiglu_bwd(P(0), P(1), P(2), P(3), P(4), L(5)); }},
        {"adamw", 12, [&] { adamw(P(0), P(1), P(2), P(3), F(4), F(5), F(6), F(7), F(8), F(9), F(10), L(11)); }},
        {"sumsq_partial", 4, [&] { sumsq_partial(PD(0), P(1), L(2), L(3)); }},
        {"sumsq_final", 3, [&] { sumsq_final(PD(0), PD(1), I(2)); }},
        {"rmsnorm_fwd", 6, [&] { rmsnorm_fwd(P(0), P(1), P(2), P(3), I(4), F(5)); }},
        {"rmsnorm_bwd_dx", 6, [&] { rmsnorm_bwd_dx(P(0), P(1), P(2), P(3), P(4), I(5)); }},
        {"rmsnorm_bwd_dw_part", 7, [&] { rmsnorm_bwd_dw_part(P(0), P(1), P(2), P(3), I(4), I(5), I(6)); }},
        {"rmsnorm_bwd_dw_sum", 4, [&] { rmsnorm_bwd_dw_sum(P(0), P(1), I(2), I(3)); }},
        {"rope", 7, [&] { rope(P(0), P(1), P(2), PI(3), I(4), I(5), F(6)); }},
        {"embed_fwd", 4, [&] { embed_fwd(P(0), P(1), PI(2), I(3)); }},
        {"embed_bwd", 6, [&] { embed_bwd(P(0), P(1), PI(2), PI(3), PI(4), I(5)); }},
        {"kv_write", 6, [&] { kv_write(P(0), P(1), PI(2), PI(3), I(4), I(5)); }},
        {"token_logprobs", 5, [&] { token_logprobs(P(0), P(1), P(2), PI(3), I(4)); }},
        {"token_logprobs_bwd", 5, [&] { token_logprobs_bwd(P(0), P(1), PI(2), P(3), I(4)); }},
        {"attn_fwd", 10, [&] { attn_fwd(P(0), P(1), P(2), P(3), P(4), PI(5), I(6), I(7), I(8), F(9)); }},
        {"attn_cached", 11,
         [&] { attn_cached(P(0), P(1), P(2), P(3), PI(4), PI(5), I(6), I(7), I(8), I(9), F(10)); }},
        {"attn_bwd_delta", 5, [&] { attn_bwd_delta(P(0), P(1), P(2), I(3), I(4)); }},
        {"attn_bwd_dq", 12,
         [&] { attn_bwd_dq(P(0), P(1), P(2), P(3), P(4), P(5), P(6), PI(7), I(8), I(9), I(10), F(11)); }},
        {"attn_bwd_dkv", 13,
         [&] { attn_bwd_dkv(P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), PI(8), I(9), I(10), I(11), F(12)); }},
    };
    for (const entry& e : table) {
        if (strcmp(e.name, name) != 0) continue;
        if (e.nargs != nargs) {
            snprintf(err, errlen, "%s takes %d arguments, got %d", name, e.nargs, nargs);
            return 1;
        }
        return emu_grid(gx, gy, threads, e.fn, err, errlen);
    }
    snprintf(err, errlen, "no kernel %s", name);
    return 1;
}

// emu_tf32 rounds x to TF32: the 13 low mantissa bits go, to nearest with
// ties away from zero (PTX cvt.rna.tf32.f32); Inf and NaN pass unchanged.
static float emu_tf32(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & ~0x1fffu;
    memcpy(&x, &u, 4);
    return x;
}

// emu_sgemm is a column-major reference product with cuBLAS's argument
// checks (it returns 1 where cuBLAS reports CUBLAS_STATUS_INVALID_VALUE).
// With tf32 the inputs are rounded to TF32 first.
extern "C" int emu_sgemm(int ta, int tb, int m, int n, int k, float alpha, uint64_t pa, int lda, uint64_t pb, int ldb,
                         float beta, uint64_t pc, int ldc, int tf32) {
    if (m < 0 || n < 0 || k < 0 || lda < max(1, ta ? k : m) || ldb < max(1, tb ? n : k) || ldc < max(1, m)) return 1;
    const float* A = (const float*)(uintptr_t)pa;
    const float* B = (const float*)(uintptr_t)pb;
    float* C = (float*)(uintptr_t)pc;
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            float s = 0.f;
            for (int p = 0; p < k; p++) {
                float av = ta ? A[p + (size_t)i * lda] : A[i + (size_t)p * lda];
                float bv = tb ? B[j + (size_t)p * ldb] : B[p + (size_t)j * ldb];
                if (tf32) av = emu_tf32(av), bv = emu_tf32(bv);
                s += av * bv;
            }
            float* c = &C[i + (size_t)j * ldc];
            *c = beta == 0.f ? alpha * s : alpha * s + beta * *c;
        }
    }
    return 0;
}
