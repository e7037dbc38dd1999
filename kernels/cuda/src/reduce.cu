// reduce.cu: deterministic sums: Σx² for the gradient norm, in double, in two
// passes (fixed chunks, then the chunk sums in order).
#include "common.cuh"

// sumsq_partial: part[b] = Σ x[i]² over i in [b·chunk, min((b+1)·chunk, n)),
// one block per chunk.
extern "C" __global__ void sumsq_partial(double* part, const float* x, long long n, long long chunk) {
    __shared__ double red[32];
    long long lo = (long long)blockIdx.x * chunk;
    long long hi = min(lo + chunk, n);
    double s = 0.0;
    for (long long i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        double v = (double)x[i];
        s += v * v;
    }
    s = block_sum_d(s, red);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

// sumsq_final: out[0] = Σ part[0..nparts), by one block.
extern "C" __global__ void sumsq_final(double* out, const double* part, int nparts) {
    __shared__ double red[32];
    double s = 0.0;
    for (int i = threadIdx.x; i < nparts; i += blockDim.x) s += part[i];
    s = block_sum_d(s, red);
    if (threadIdx.x == 0) out[0] = s;
}
