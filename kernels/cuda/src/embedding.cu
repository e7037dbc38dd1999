// embedding.cu: row gathers and scatters: embedding lookup and its gradient,
// and writes into the KV cache.

// embed_fwd: out[i, :] = table[ids[i], :]; one block per row i; out is [n, d].
extern "C" __global__ void embed_fwd(float* out, const float* table, const int* ids, int d) {
    long long i = blockIdx.x;
    const float* src = table + (long long)ids[i] * d;
    float* dst = out + i * d;
    for (int e = threadIdx.x; e < d; e += blockDim.x) dst[e] = src[e];
}

// embed_bwd: dtable[id, :] += dout[r, :] for every row r holding id. The host
// groups rows by id: group g (one block) is id gid[g] with rows
// rows[goff[g] .. goff[g+1]−1] in increasing order, so each element of dtable
// is summed by one thread in row order (deterministic, no atomics).
extern "C" __global__ void embed_bwd(float* dtable, const float* dout, const int* gid, const int* goff,
                                     const int* rows, int d) {
    int g = blockIdx.x;
    float* dst = dtable + (long long)gid[g] * d;
    int r0 = goff[g], r1 = goff[g + 1];
    for (int e = threadIdx.x; e < d; e += blockDim.x) {
        float v = dst[e];
        for (int r = r0; r < r1; r++) v += dout[(long long)rows[r] * d + e];
        dst[e] = v;
    }
}

// kv_write: cache[slot[i], pos[i], :] = src[i, :]; cache is
// [slots, max_len, width], src is [n, width]; one block per row i.
extern "C" __global__ void kv_write(float* cache, const float* src, const int* slot, const int* pos, int max_len,
                                    int width) {
    long long i = blockIdx.x;
    float* dst = cache + ((long long)slot[i] * max_len + pos[i]) * width;
    const float* s = src + i * width;
    for (int e = threadIdx.x; e < width; e += blockDim.x) dst[e] = s[e];
}
