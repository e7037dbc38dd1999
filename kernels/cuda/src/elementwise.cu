// elementwise.cu: one-pass kernels over flat arrays: Axpy, Scale, SwiGLU
// forward and backward, AdamW. Each thread handles elements i, i+stride, ...
// (a grid-stride loop); element counts are 64-bit.

// axpy: y[i] += alpha·x[i] for i < n.
extern "C" __global__ void axpy(float* y, const float* x, float alpha, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] += alpha * x[i];
}

// scale: x[i] *= alpha for i < n.
extern "C" __global__ void scale(float* x, float alpha, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        x[i] *= alpha;
}

__device__ __forceinline__ float sigmoidf(float g) { return 1.f / (1.f + expf(-g)); }

// swiglu: out[i] = silu(gate[i])·up[i]; out may be gate or up (each element
// is read before it is written, by the same thread).
extern "C" __global__ void swiglu(float* out, const float* gate, const float* up, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float g = gate[i], u = up[i];
        out[i] = g * sigmoidf(g) * u;
    }
}

// swiglu_bwd: with out = g·σ(g)·u,
//   dgate = dout·u·σ(g)·(1 + g·(1−σ(g))),  dup = dout·g·σ(g)   (overwrites).
extern "C" __global__ void swiglu_bwd(float* dgate, float* dup, const float* dout, const float* gate,
                                      const float* up, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float g = gate[i], u = up[i], d = dout[i];
        float s = sigmoidf(g);
        dup[i] = d * g * s;
        dgate[i] = d * u * s * (1.f + g * (1.f - s));
    }
}

// adamw: decoupled weight decay with bias corrections bc1 = 1−β1ᵗ and
// bc2 = 1−β2ᵗ computed on the host:
//   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//   p -= lr·( (m/bc1) / (sqrt(v/bc2) + eps) + wd·p )
extern "C" __global__ void adamw(float* p, const float* g, float* m, float* v, float lr, float beta1,
                                 float beta2, float eps, float wd, float bc1, float bc2, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float gi = g[i];
        float mi = beta1 * m[i] + (1.f - beta1) * gi;
        float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float mh = mi / bc1, vh = vi / bc2;
        float pi = p[i];
        p[i] = pi - lr * (mh / (sqrtf(vh) + eps) + wd * pi);
    }
}
