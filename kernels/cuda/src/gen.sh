#!/bin/sh
# gen.sh compiles every kernel module in src/ to PTX in ptx/ (run by go
# generate from kernels/cuda). sm_80 PTX is JIT-compiled by the driver for
# newer GPUs (Hopper included).
set -eu
cd "$(dirname "$0")/.."
rm -f ptx/*.ptx
for f in src/*.cu; do
	name=$(basename "$f" .cu)
	nvcc -ptx -arch=sm_80 -O3 -o "ptx/$name.ptx" "$f"
done
