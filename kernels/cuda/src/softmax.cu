// softmax.cu: per-token log-probabilities and entropy of rows of logits, and
// the gradient of the log-probability with respect to the logits.
//
//   logits, dlogits are [n, v]; targets, logp, entropy, dlogp are [n].
//   Exponentials and their sums are taken in double, as the CPU reference does.
#include "common.cuh"

// token_logprobs: one block per row. logp[i] = logits[i, t] − logsumexp(row)
// for t = targets[i] >= 0, else 0; entropy (when not null) gets
// logZ − Σ p·(x − max).
extern "C" __global__ void token_logprobs(float* logp, float* entropy, const float* logits, const int* targets,
                                          int v) {
    __shared__ float redf[32];
    __shared__ double red[32];
    long long i = blockIdx.x;
    const float* row = logits + i * v;
    float mx = -INFINITY;
    for (int e = threadIdx.x; e < v; e += blockDim.x) mx = fmaxf(mx, row[e]);
    mx = block_max(mx, redf);
    double s = 0.0, ws = 0.0;
    for (int e = threadIdx.x; e < v; e += blockDim.x) {
        double z = (double)(row[e] - mx);
        double ex = exp(z);
        s += ex;
        ws += ex * z;
    }
    s = block_sum_d(s, red);
    ws = block_sum_d(ws, red);
    if (threadIdx.x == 0) {
        double logZ = log(s);
        int t = targets[i];
        logp[i] = t >= 0 ? (float)((double)(row[t] - mx) - logZ) : 0.f;
        if (entropy) entropy[i] = (float)(logZ - ws / s);
    }
}

// token_logprobs_bwd: one block per row; overwrites
// dlogits[i, :] = dlogp[i]·(onehot(t) − softmax(row)), zero when t < 0 or
// dlogp[i] = 0.
extern "C" __global__ void token_logprobs_bwd(float* dlogits, const float* logits, const int* targets,
                                              const float* dlogp, int v) {
    __shared__ float redf[32];
    __shared__ double red[32];
    long long i = blockIdx.x;
    const float* row = logits + i * v;
    float* drow = dlogits + i * v;
    int t = targets[i];
    float g = dlogp[i];
    if (t < 0 || g == 0.f) {  // the same for the whole block
        for (int e = threadIdx.x; e < v; e += blockDim.x) drow[e] = 0.f;
        return;
    }
    float mx = -INFINITY;
    for (int e = threadIdx.x; e < v; e += blockDim.x) mx = fmaxf(mx, row[e]);
    mx = block_max(mx, redf);
    double s = 0.0;
    for (int e = threadIdx.x; e < v; e += blockDim.x) s += exp((double)(row[e] - mx));
    s = block_sum_d(s, red);
    double inv = 1.0 / s;
    for (int e = threadIdx.x; e < v; e += blockDim.x) {
        float val = -g * (float)(exp((double)(row[e] - mx)) * inv);
        if (e == t) val += g;
        drow[e] = val;
    }
}
