// attention.cu: causal grouped-query attention over packed sequences, its
// backward, and attention of single query rows against a KV cache.
//
//   q, out, dq, dout are [N, H·hd]; k, v, dk, dv are [N, KV·hd]; lse is [N, H].
//   Query head h reads key/value head h / (H/KV). Row t of a packed batch
//   belongs to the sequence starting at seg_start[t] and ending (exclusive) at
//   seg_end[t] (both computed on the host from cu_seqlens); it attends to rows
//   seg_start[t] .. t.
//
// One block of ATT_THREADS threads handles one (row, head). Scores of a tile of
// up to ATT_TILE keys are dot products computed by whole warps (lanes split the
// head dimension, a warp butterfly adds them); thread e then owns output
// elements e and e + ATT_THREADS, so hd <= 2·ATT_THREADS. The softmax is
// online (running max and sum rescaled tile by tile). Every sum runs in a fixed
// order: results are deterministic and no atomics are used.
#include "common.cuh"

#define ATT_THREADS 128
#define ATT_WARPS (ATT_THREADS / 32)
#define ATT_TILE 128
#define MAX_HD (2 * ATT_THREADS)

// attend_row computes, for one query row qs (hd floats in shared memory),
// out = Σ_j softmax_j(scale·qs·k_j)·v_j over nk keys k_j = k + j·stride,
// v_j = v + j·stride, and returns the log-sum-exp of the scaled scores.
// sc is ATT_TILE floats and red 32 floats of shared memory.
__device__ float attend_row(float* out, const float* qs, const float* k, const float* v, long long stride, int nk,
                            int hd, float scale, float* sc, float* red) {
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    float m = -INFINITY, l = 0.f;
    float acc0 = 0.f, acc1 = 0.f;
    for (int j0 = 0; j0 < nk; j0 += ATT_TILE) {
        int nt = min(ATT_TILE, nk - j0);
        for (int jj = warp; jj < nt; jj += ATT_WARPS) {
            const float* kr = k + (long long)(j0 + jj) * stride;
            float d = 0.f;
            for (int e = lane; e < hd; e += 32) d += qs[e] * kr[e];
            d = warp_sum(d);
            if (lane == 0) sc[jj] = d * scale;
        }
        __syncthreads();
        float s = tid < nt ? sc[tid] : -INFINITY;
        float mnew = fmaxf(m, block_max(s, red));
        float corr = expf(m - mnew);  // 0 on the first tile (m = −inf)
        float p = tid < nt ? expf(s - mnew) : 0.f;
        sc[tid] = p;  // each thread rewrites only its own score
        l = l * corr + block_sum(p, red);  // block_sum's barrier publishes sc
        acc0 *= corr;
        acc1 *= corr;
        for (int jj = 0; jj < nt; jj++) {
            const float* vr = v + (long long)(j0 + jj) * stride;
            float pj = sc[jj];
            if (tid < hd) acc0 += pj * vr[tid];
            if (tid + ATT_THREADS < hd) acc1 += pj * vr[tid + ATT_THREADS];
        }
        m = mnew;
        __syncthreads();  // the next tile overwrites sc
    }
    if (nk <= 0) {
        if (tid < hd) out[tid] = 0.f;
        if (tid + ATT_THREADS < hd) out[tid + ATT_THREADS] = 0.f;
        return -INFINITY;
    }
    float inv = 1.f / l;
    if (tid < hd) out[tid] = acc0 * inv;
    if (tid + ATT_THREADS < hd) out[tid + ATT_THREADS] = acc1 * inv;
    return m + logf(l);
}

// attn_fwd: grid (N, H), block ATT_THREADS.
extern "C" __global__ void attn_fwd(float* out, float* lse, const float* q, const float* k, const float* v,
                                    const int* seg_start, int heads, int kv_heads, int hd, float scale) {
    __shared__ float qs[MAX_HD];
    __shared__ float sc[ATT_TILE];
    __shared__ float red[32];
    long long t = blockIdx.x;
    int h = blockIdx.y;
    int kh = h / (heads / kv_heads);
    long long qw = (long long)heads * hd, kw = (long long)kv_heads * hd;
    long long s0 = seg_start[t];
    const float* qr = q + t * qw + (long long)h * hd;
    for (int e = threadIdx.x; e < hd; e += ATT_THREADS) qs[e] = qr[e];
    __syncthreads();
    float l = attend_row(out + t * qw + (long long)h * hd, qs, k + s0 * kw + (long long)kh * hd,
                         v + s0 * kw + (long long)kh * hd, kw, (int)(t - s0 + 1), hd, scale, sc, red);
    if (threadIdx.x == 0) lse[t * heads + h] = l;
}

// attn_cached: grid (n, H), block ATT_THREADS. Row i (q is [n, H·hd]) attends
// to positions 0 .. length[i]−1 of cache slot slot[i]; kc, vc are
// [slots, max_len, KV·hd]; out is [n, H·hd].
extern "C" __global__ void attn_cached(float* out, const float* q, const float* kc, const float* vc,
                                       const int* slot, const int* length, int max_len, int heads, int kv_heads,
                                       int hd, float scale) {
    __shared__ float qs[MAX_HD];
    __shared__ float sc[ATT_TILE];
    __shared__ float red[32];
    long long i = blockIdx.x;
    int h = blockIdx.y;
    int kh = h / (heads / kv_heads);
    long long qw = (long long)heads * hd, kw = (long long)kv_heads * hd;
    long long base = (long long)slot[i] * max_len * kw + (long long)kh * hd;
    const float* qr = q + i * qw + (long long)h * hd;
    for (int e = threadIdx.x; e < hd; e += ATT_THREADS) qs[e] = qr[e];
    __syncthreads();
    attend_row(out + i * qw + (long long)h * hd, qs, kc + base, vc + base, kw, length[i], hd, scale, sc, red);
}

// attn_bwd_delta: delta[t, h] = dout[t, h, :]·out[t, h, :]; grid N, block
// ATT_THREADS, one warp per head at a time.
extern "C" __global__ void attn_bwd_delta(float* delta, const float* dout, const float* out, int heads, int hd) {
    long long t = blockIdx.x;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    long long qw = (long long)heads * hd;
    for (int h = warp; h < heads; h += ATT_WARPS) {
        const float* a = dout + t * qw + (long long)h * hd;
        const float* b = out + t * qw + (long long)h * hd;
        float s = 0.f;
        for (int e = lane; e < hd; e += 32) s += a[e] * b[e];
        s = warp_sum(s);
        if (lane == 0) delta[t * heads + h] = s;
    }
}

// attn_bwd_dq: grid (N, H), block ATT_THREADS. With P = exp(scale·q·kᵀ − lse),
// dS = P ⊙ (dout·vᵀ − delta):  dq[t, h] = scale·Σ_j dS[t, j]·k_j (overwrites).
extern "C" __global__ void attn_bwd_dq(float* dq, const float* dout, const float* q, const float* k,
                                       const float* v, const float* lse, const float* delta, const int* seg_start,
                                       int heads, int kv_heads, int hd, float scale) {
    __shared__ float qs[MAX_HD];
    __shared__ float dos[MAX_HD];
    __shared__ float ds[ATT_TILE];
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    long long t = blockIdx.x;
    int h = blockIdx.y;
    int kh = h / (heads / kv_heads);
    long long qw = (long long)heads * hd, kw = (long long)kv_heads * hd;
    long long s0 = seg_start[t];
    long long qoff = t * qw + (long long)h * hd;
    for (int e = tid; e < hd; e += ATT_THREADS) {
        qs[e] = q[qoff + e];
        dos[e] = dout[qoff + e];
    }
    float L = lse[t * heads + h], D = delta[t * heads + h];
    __syncthreads();
    const float* kb = k + s0 * kw + (long long)kh * hd;
    const float* vb = v + s0 * kw + (long long)kh * hd;
    int nk = (int)(t - s0 + 1);
    float acc0 = 0.f, acc1 = 0.f;
    for (int j0 = 0; j0 < nk; j0 += ATT_TILE) {
        int nt = min(ATT_TILE, nk - j0);
        for (int jj = warp; jj < nt; jj += ATT_WARPS) {
            const float* kr = kb + (long long)(j0 + jj) * kw;
            const float* vr = vb + (long long)(j0 + jj) * kw;
            float sdot = 0.f, dp = 0.f;
            for (int e = lane; e < hd; e += 32) {
                sdot += qs[e] * kr[e];
                dp += dos[e] * vr[e];
            }
            sdot = warp_sum(sdot);
            dp = warp_sum(dp);
            if (lane == 0) {
                float p = expf(sdot * scale - L);
                ds[jj] = p * (dp - D) * scale;
            }
        }
        __syncthreads();
        for (int jj = 0; jj < nt; jj++) {
            const float* kr = kb + (long long)(j0 + jj) * kw;
            float g = ds[jj];
            if (tid < hd) acc0 += g * kr[tid];
            if (tid + ATT_THREADS < hd) acc1 += g * kr[tid + ATT_THREADS];
        }
        __syncthreads();
    }
    if (tid < hd) dq[qoff + tid] = acc0;
    if (tid + ATT_THREADS < hd) dq[qoff + tid + ATT_THREADS] = acc1;
}

// attn_bwd_dkv: grid (N, KV), block ATT_THREADS. Key row j of kv head kh
// collects from every query head h of its group and every query row t in
// j .. seg_end[j]−1:  dk[j] = scale·Σ dS[t, j]·q[t, h],  dv[j] = Σ P[t, j]·dout[t, h]
// (overwrites).
extern "C" __global__ void attn_bwd_dkv(float* dk, float* dv, const float* dout, const float* q, const float* k,
                                        const float* v, const float* lse, const float* delta, const int* seg_end,
                                        int heads, int kv_heads, int hd, float scale) {
    __shared__ float ks[MAX_HD];
    __shared__ float vs[MAX_HD];
    __shared__ float ps[ATT_TILE];
    __shared__ float ds[ATT_TILE];
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    long long j = blockIdx.x;
    int kh = blockIdx.y;
    int group = heads / kv_heads;
    long long qw = (long long)heads * hd, kw = (long long)kv_heads * hd;
    long long koff = j * kw + (long long)kh * hd;
    for (int e = tid; e < hd; e += ATT_THREADS) {
        ks[e] = k[koff + e];
        vs[e] = v[koff + e];
    }
    __syncthreads();
    long long s1 = seg_end[j];
    int nq = (int)(s1 - j);
    float dk0 = 0.f, dk1 = 0.f, dv0 = 0.f, dv1 = 0.f;
    for (int h = kh * group; h < (kh + 1) * group; h++) {
        const float* qb = q + j * qw + (long long)h * hd;
        const float* db = dout + j * qw + (long long)h * hd;
        for (int t0 = 0; t0 < nq; t0 += ATT_TILE) {
            int nt = min(ATT_TILE, nq - t0);
            for (int tt = warp; tt < nt; tt += ATT_WARPS) {
                const float* qr = qb + (long long)(t0 + tt) * qw;
                const float* dr = db + (long long)(t0 + tt) * qw;
                float sdot = 0.f, dp = 0.f;
                for (int e = lane; e < hd; e += 32) {
                    sdot += qr[e] * ks[e];
                    dp += dr[e] * vs[e];
                }
                sdot = warp_sum(sdot);
                dp = warp_sum(dp);
                if (lane == 0) {
                    long long lt = (j + t0 + tt) * heads + h;
                    float p = expf(sdot * scale - lse[lt]);
                    ps[tt] = p;
                    ds[tt] = p * (dp - delta[lt]) * scale;
                }
            }
            __syncthreads();
            for (int tt = 0; tt < nt; tt++) {
                const float* qr = qb + (long long)(t0 + tt) * qw;
                const float* dr = db + (long long)(t0 + tt) * qw;
                float g = ds[tt], p = ps[tt];
                if (tid < hd) {
                    dk0 += g * qr[tid];
                    dv0 += p * dr[tid];
                }
                if (tid + ATT_THREADS < hd) {
                    dk1 += g * qr[tid + ATT_THREADS];
                    dv1 += p * dr[tid + ATT_THREADS];
                }
            }
            __syncthreads();
        }
    }
    if (tid < hd) {
        dk[koff + tid] = dk0;
        dv[koff + tid] = dv0;
    }
    if (tid + ATT_THREADS < hd) {
        dk[koff + tid + ATT_THREADS] = dk1;
        dv[koff + tid + ATT_THREADS] = dv1;
    }
}
