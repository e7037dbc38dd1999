// rope.cu: rotary position embedding in place, forward and its transpose.
//
//   x is [n, heads, hd]; cos, sin are [maxPos, hd/2]; pos is [n].
//   Element j of a head pairs with j + hd/2 (rotate-half convention):
//   x1' = x1·cos − sign·x2·sin,  x2' = x2·cos + sign·x1·sin,
//   sign = 1 for the forward, −1 for the gradient (the inverse rotation).
extern "C" __global__ void rope(float* x, const float* cos, const float* sin, const int* pos, int heads, int hd,
                                float sign) {
    long long i = blockIdx.x;
    int half = hd / 2;
    long long p = pos[i];
    const float* cr = cos + p * half;
    const float* sr = sin + p * half;
    for (int idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
        int h = idx / half, j = idx - h * half;
        float* v = x + (i * heads + h) * hd;
        float a = v[j], b = v[j + half];
        float c = cr[j], s = sr[j];
        v[j] = a * c - sign * b * s;
        v[j + half] = b * c + sign * a * s;
    }
}
