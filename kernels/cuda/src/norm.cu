// norm.cu: RMSNorm forward and backward over rows of length d.
//
//   x, out, dx, dout are [rows, d]; w, dw are [d]; rstd is [rows].
//   Forward: rstd[r] = 1/sqrt(mean(x[r,:]²) + eps), out = w ⊙ x·rstd.
//   Backward, with n = x·rstd: dx += rstd·(w⊙dout − n·mean(w⊙dout⊙n)) and
//   dw += Σ_rows dout⊙n, the latter in fixed chunks of rows added in order.
#include "common.cuh"

// rmsnorm_fwd: one block per row.
extern "C" __global__ void rmsnorm_fwd(float* out, float* rstd, const float* x, const float* w, int d, float eps) {
    __shared__ double red[32];
    long long row = blockIdx.x;
    const float* xr = x + row * d;
    float* orow = out + row * d;
    double ss = 0.0;
    for (int e = threadIdx.x; e < d; e += blockDim.x) {
        double v = (double)xr[e];
        ss += v * v;
    }
    ss = block_sum_d(ss, red);
    float rs = (float)(1.0 / sqrt(ss / (double)d + (double)eps));
    if (threadIdx.x == 0) rstd[row] = rs;
    for (int e = threadIdx.x; e < d; e += blockDim.x) orow[e] = w[e] * (xr[e] * rs);
}

// rmsnorm_bwd_dx: one block per row; accumulates into dx.
extern "C" __global__ void rmsnorm_bwd_dx(float* dx, const float* dout, const float* x, const float* w,
                                          const float* rstd, int d) {
    __shared__ double red[32];
    long long row = blockIdx.x;
    const float* xr = x + row * d;
    const float* dor = dout + row * d;
    float* dxr = dx + row * d;
    float rs = rstd[row];
    double dot = 0.0;
    for (int e = threadIdx.x; e < d; e += blockDim.x)
        dot += (double)(w[e] * dor[e]) * (double)(xr[e] * rs);
    dot = block_sum_d(dot, red);
    float m = (float)(dot / (double)d);
    for (int e = threadIdx.x; e < d; e += blockDim.x) {
        float n = xr[e] * rs;
        dxr[e] += rs * (w[e] * dor[e] - n * m);
    }
}

// rmsnorm_bwd_dw_part: part[c, j] = Σ dout[r, j]·x[r, j]·rstd[r] over rows r
// of chunk c = blockIdx.x (rows c·chunk .. min((c+1)·chunk, rows)−1), column
// j = blockIdx.y·blockDim.x + threadIdx.x.
extern "C" __global__ void rmsnorm_bwd_dw_part(float* part, const float* dout, const float* x, const float* rstd,
                                               int rows, int d, int chunk) {
    int j = blockIdx.y * blockDim.x + threadIdx.x;
    if (j >= d) return;
    int r0 = blockIdx.x * chunk;
    int r1 = min(r0 + chunk, rows);
    float s = 0.f;
    for (int r = r0; r < r1; r++) {
        long long off = (long long)r * d + j;
        s += dout[off] * (x[off] * rstd[r]);
    }
    part[(long long)blockIdx.x * d + j] = s;
}

// rmsnorm_bwd_dw_sum: dw[j] += part[0, j] + part[1, j] + ... in chunk order.
extern "C" __global__ void rmsnorm_bwd_dw_sum(float* dw, const float* part, int chunks, int d) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= d) return;
    float v = dw[j];
    for (int c = 0; c < chunks; c++) v += part[(long long)c * d + j];
    dw[j] = v;
}
