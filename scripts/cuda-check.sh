#!/usr/bin/env bash
# cuda-check.sh: checks the CUDA backend (kernels/cuda) on a machine without
# a GPU:
#   1. installs Debian's nvidia-cuda-toolkit (contrib non-free) when nvcc is
#      missing;
#   2. regenerates the PTX with go generate and fails if it differs from the
#      PTX on disk before regenerating (commit what go generate writes);
#   3. runs ptxas for sm_80 (Ampere) and sm_90 (Hopper) on every module;
#   4. vets the cuda-tagged code and builds, without running, the cuda-tagged
#      test binaries of kernels/cuda and of the top-level benchmark, linked
#      against the toolkit's libcuda stub;
#   5. proves that they link no cuBLAS (it is opened at run time): readelf
#      shows no libcublas DT_NEEDED entry and no cuBLAS symbol, and each binary
#      starts against stub libraries and loads stub cuBLAS 11, 12 and 13
#      (scripts/gpu-check.sh verify);
#   6. runs the backend's tests with the kernels emulated on the host
#      (-tags cudaemu: the same CUDA C sources compiled as C++, one coroutine
#      per GPU thread, against the CPU backend and the golden fixtures).
# Running the tests on a GPU needs an NVIDIA GPU: go test -tags cuda ./kernels/cuda/,
# or scripts/gpu-check.sh build here and scripts/gpu-check.sh run there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
t0=$(date +%s)

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		echo "cuda-check: need root to run: $*" >&2
		exit 1
	fi
}

if ! command -v nvcc >/dev/null || ! command -v ptxas >/dev/null; then
	echo "cuda-check: installing nvidia-cuda-toolkit (about 2.3 GB download)..." >&2
	. /etc/os-release
	src=/etc/apt/sources.list.d/frontier-cuda.sources
	if [ ! -e "$src" ]; then
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$VERSION_CODENAME" | as_root tee "$src" >/dev/null
	fi
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit
fi
nvcc --version | tail -1
t1=$(date +%s)

# PTX must match its sources.
ptx=kernels/cuda/ptx
before=$(mktemp -d)
bin=$(mktemp -d)
trap 'rm -rf "$before" "$bin"' EXIT
cp "$ptx"/*.ptx "$before"/ 2>/dev/null || true
go generate ./kernels/cuda/
if ! diff -r -q "$before" "$ptx"; then
	echo "cuda-check: $ptx is out of date with kernels/cuda/src; go generate has rewritten it, commit the result" >&2
	exit 1
fi

for f in "$ptx"/*.ptx; do
	for arch in sm_80 sm_90; do
		ptxas -arch="$arch" -o /dev/null "$f"
	done
done
echo "cuda-check: ptxas sm_80 and sm_90 accept $(ls "$ptx"/*.ptx | wc -l) modules"

# Headers and the libcuda stub (Debian: /usr/include and
# /usr/lib/<triplet>/stubs; NVIDIA's installer: /usr/local/cuda).
inc=""
for d in /usr/local/cuda/include /usr/include /usr/lib/cuda/include; do
	if [ -e "$d/cuda.h" ]; then inc=$d && break; fi
done
stub=$(find /usr/local/cuda*/ /usr/lib/ -path '*stubs/libcuda.so' 2>/dev/null | head -1 || true)
if [ -z "$inc" ] || [ -z "$stub" ]; then
	echo "cuda-check: cuda.h ($inc) or stubs/libcuda.so ($stub) not found" >&2
	exit 1
fi
stubdir=$(dirname "$stub")
export CGO_CFLAGS="-I$inc" CGO_LDFLAGS="-L$stubdir" LIBRARY_PATH="$stubdir"

go vet -tags cuda ./kernels/cuda/ ./collective/ .
go test -c -tags cuda -o "$bin/cuda.test" ./kernels/cuda/
go test -c -tags cuda -o "$bin/bench.test" .
bash scripts/gpu-check.sh verify "$bin/cuda.test" "$bin/bench.test"
t2=$(date +%s)

# emu.cpp #includes src/*.cu, which the go build cache does not track: key
# the build on their hash so that an edited kernel is recompiled.
export CGO_CXXFLAGS="-O2 -DFRONTIER_SRC_HASH=$(cat kernels/cuda/src/* | sha256sum | cut -c1-16)"
go vet -tags cudaemu ./kernels/cuda/
go test -count=1 -tags cudaemu ./kernels/cuda/
t3=$(date +%s)
echo "cuda-check: ok (toolkit $((t1 - t0))s, ptx, cuda build and load check $((t2 - t1))s, emulated tests $((t3 - t2))s)"
