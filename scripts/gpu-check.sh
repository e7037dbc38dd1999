#!/usr/bin/env bash
# gpu-check.sh: the CUDA backend on a GPU machine that has no Go toolchain.
#
#   scripts/gpu-check.sh build [DIR]    here: build the cuda-tagged binaries
#                                       into DIR (default gpu-bin/) and check
#                                       that they load against stub libraries
#   scripts/gpu-check.sh run [DIR]      there: run them, everything written
#                                       under $OUT (default gpu-out/)
#   scripts/gpu-check.sh verify BIN...  check built binaries against stubs
#                                       (used by build and by cuda-check.sh)
#
# build compiles, against the CUDA 11.8 headers of Debian's toolkit and its
# libcuda stub, the test binaries of kernels/cuda, model and the top-level
# benchmarks, and cmd/train, stripped, and checks that together they stay
# under 48 MiB (64 MiB travels with the working tree). cuBLAS is not linked:
# the backend opens libcublas.so.13, .12 or .11 at run time. verify proves it:
# no DT_NEEDED entry and no dynamic symbol of cuBLAS, and each binary starts
# against a stub libcuda.so.1 and stub libcublas.so.11/.12/.13 built here
# with gcc, and reports the cuBLAS version it loaded.
#
# run (CUDA 13, driver 580; at most 7 minutes) records, each stage under a
# timeout and never stopping at a failure: nvidia-smi and the libraries
# found; the load check; the unit and golden tests with FRONTIER_CUDA_SYNC=1,
# one process per test, then all together without; the GEMM (against cuBLAS)
# and attention benchmarks; a Qwen3-0.6B-shaped random train step and
# batch-1/batch-64 decode with nvidia-smi sampling memory and utilisation; 50
# GRPO steps of the built-in experiment through cmd/train -device cuda; then
# $OUT/summary.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

die() {
	echo "gpu-check: $*" >&2
	exit 1
}

# cuda_env sets CGO flags for the toolkit's headers and libcuda stub.
cuda_env() {
	local inc="" d stub
	for d in /usr/local/cuda/include /usr/include /usr/lib/cuda/include; do
		if [ -e "$d/cuda.h" ]; then inc=$d && break; fi
	done
	stub=$(find /usr/local/cuda*/ /usr/lib/ -path '*stubs/libcuda.so' 2>/dev/null | head -1 || true)
	[ -n "$inc" ] && [ -n "$stub" ] || die "cuda.h ($inc) or stubs/libcuda.so ($stub) not found; run scripts/cuda-check.sh to install the toolkit"
	export CGO_CFLAGS="-I$inc" CGO_LDFLAGS="-L$(dirname "$stub")" LIBRARY_PATH="$(dirname "$stub")"
}

# make_stubs DIR writes DIR/cuda/libcuda.so.1, whose cuInit succeeds and
# whose every other entry point the binaries BIN... import reports
# CUDA_ERROR_NO_DEVICE, and DIR/vNN/libcublas.so.NN for cuBLAS 11, 12 and 13,
# exporting the entry points the backend opens by name.
make_stubs() {
	local dir=$1 v
	shift
	mkdir -p "$dir/cuda"
	{
		echo '/* Stub CUDA driver: starts, finds no device. */'
		echo 'int cuInit(unsigned flags) { (void)flags; return 0; }'
		echo 'int cuDriverGetVersion(int *v) { *v = 13000; return 0; }'
		nm -D --undefined-only "$@" 2>/dev/null | awk '{print $NF}' | grep -E '^cu[A-Z]' | sed 's/@.*//' |
			grep -vx -e cuInit -e cuDriverGetVersion | sort -u |
			while read -r f; do echo "int $f(void) { return 100; }"; done
	} >"$dir/cuda/stub.c"
	gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$dir/cuda/libcuda.so.1" "$dir/cuda/stub.c" || return 1
	for v in 11 12 13; do
		mkdir -p "$dir/v$v"
		cat >"$dir/v$v/stub.c" <<EOF
/* Stub cuBLAS $v: the entry points the CUDA backend opens by name. */
int cublasCreate_v2(void **h) { *h = (void *)1; return 0; }
int cublasDestroy_v2(void *h) { (void)h; return 0; }
int cublasSetMathMode(void *h, int mode) { (void)h; (void)mode; return 0; }
int cublasGetProperty(int what, int *v) { *v = what == 0 ? $v : what == 1 ? 4 : 2; return 0; }
int cublasSgemm_v2(void) { return 13; }
EOF
		gcc -shared -fPIC -Wl,-soname,"libcublas.so.$v" -o "$dir/v$v/libcublas.so.$v" "$dir/v$v/stub.c" || return 1
	done
}

# verify BIN... checks the binaries' dynamic section and symbols and runs
# them against the stubs; it prints the readelf lines that prove the point.
verify() {
	local stubs fail=0 b v out
	stubs=$(mktemp -d)
	make_stubs "$stubs" "$@" || die "building the stubs failed"
	for b in "$@"; do
		echo "== $(basename "$b")"
		readelf -d "$b" | grep NEEDED
		if readelf -d "$b" | grep NEEDED | grep -qi cublas; then
			echo "gpu-check: $b needs libcublas" >&2
			fail=1
		fi
		n=$(readelf --dyn-syms -W "$b" | grep -ci cublas || true)
		echo "readelf --dyn-syms -W $(basename "$b") | grep -ci cublas: $n"
		echo "readelf --dyn-syms -W $(basename "$b") | grep -c '@libcublas': $(readelf --dyn-syms -W "$b" | grep -c '@libcublas')"
		readelf --dyn-syms -W "$b" | grep -E 'cu(Init|MemAlloc)' | sed 's/^ */  /'
		if [ "$n" != 0 ]; then
			readelf --dyn-syms -W "$b" | grep -i cublas >&2
			fail=1
		fi
		if readelf -d "$b" | grep -q NEEDED; then
			echo "newest glibc symbol version: $(objdump -T "$b" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
		else
			echo "statically linked: no dynamic section"
		fi
	done
	for b in "$@"; do
		case $(basename "$b") in
		cuda.test) cmd=(env FRONTIER_CUDA_LOADCHECK=1 "$b") ;;
		bench.test) cmd=("$b" -test.run '^TestCuBLASLoads$' -test.v) ;;
		train) cmd=("$b" -device cuda -out "$stubs/runs" -sft-steps 0 -steps 1) ;;
		*) cmd=("$b" -test.run '^$') ;;
		esac
		for v in 11 12 13; do
			out=$(LD_LIBRARY_PATH="$stubs/cuda:$stubs/v$v" timeout 60 "${cmd[@]}" 2>&1)
			case $(basename "$b") in
			cuda.test | bench.test) want="cuBLAS $v.4.2 (libcublas.so.$v)" ;;
			train) want="counting devices" ;; # it loaded cuBLAS, then found no GPU
			*) want="ok\|PASS" ;;
			esac
			if echo "$out" | grep -q "$want"; then
				echo "$(basename "$b") with stub cuBLAS $v: $(echo "$out" | grep "$want" | head -1)"
			else
				echo "gpu-check: $(basename "$b") against stub cuBLAS $v: want '$want', got:" >&2
				echo "$out" | tail -5 >&2
				fail=1
			fi
			[ "$(basename "$b")" = cuda.test ] || break # the others start once
		done
		# A real cuBLAS, where the machine has one (Debian's toolkit: 11).
		if [ "$(basename "$b")" = cuda.test ] && ldconfig -p | grep -q 'libcublas\.so\.1[1-3] '; then
			if out=$(LD_LIBRARY_PATH="$stubs/cuda" FRONTIER_CUDA_LOADCHECK=1 timeout 60 "$b" 2>&1); then
				echo "cuda.test with the machine's cuBLAS: $out"
			else
				echo "gpu-check: cuda.test against the machine's cuBLAS: $out" >&2
				fail=1
			fi
		fi
	done
	rm -rf "$stubs"
	return $fail
}

build() {
	local dir=${1:-gpu-bin} size
	cuda_env
	rm -rf "$dir"
	mkdir -p "$dir"
	echo '*' >"$dir/.gitignore" # git ignores the folder and everything in it
	local flags=(-tags cuda -trimpath -ldflags=-s\ -w)
	go test -c "${flags[@]}" -o "$dir/cuda.test" ./kernels/cuda/ &&
		go test -c "${flags[@]}" -o "$dir/model.test" ./model/ &&
		go test -c "${flags[@]}" -o "$dir/bench.test" . &&
		go build "${flags[@]}" -o "$dir/train" ./cmd/train/ || die "build failed"
	ls -l "$dir"
	size=$(du -sm "$dir" | cut -f1)
	echo "gpu-check: $dir holds ${size} MiB"
	[ "$size" -lt 48 ] || die "$dir is ${size} MiB; at most 48 MiB may travel"
	verify "$dir"/cuda.test "$dir"/model.test "$dir"/bench.test "$dir"/train || die "verify failed"
	echo "gpu-check: $dir ready; carry it and run: scripts/gpu-check.sh run $dir"
}

# ---- run: on the GPU machine ----

T0=$(date +%s)
DEADLINE=400 # seconds for all stages; the last ones shrink to fit

# stage NAME LIMIT CMD... runs CMD under a timeout, logging to $OUT/NAME.log
# and a line to $OUT/stages.txt; it never stops the script.
stage() {
	local name=$1 limit=$2 left rc t
	shift 2
	left=$((DEADLINE - ($(date +%s) - T0)))
	if [ "$left" -lt 10 ]; then
		echo "$name SKIPPED (out of time)" | tee -a "$OUT/stages.txt"
		return 0
	fi
	limit=$((limit < left ? limit : left))
	t=$(date +%s)
	echo "== $name (limit ${limit}s): $*" >"$OUT/$name.log"
	timeout -k 5 "$limit" "$@" >>"$OUT/$name.log" 2>&1
	rc=$?
	local what=ok
	[ "$rc" = 0 ] || what="FAILED rc=$rc"
	[ "$rc" = 124 ] || [ "$rc" = 137 ] && what="TIMED OUT after ${limit}s"
	echo "$name $what ($(($(date +%s) - t))s)" | tee -a "$OUT/stages.txt"
	return 0
}

# sample NAME starts nvidia-smi sampling memory and utilisation every 500 ms.
sample() {
	nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory,memory.used,memory.total,power.draw \
		--format=csv -lms 500 >"$OUT/smi-$1.csv" 2>&1 &
	SMI=$!
}
unsample() { kill "$SMI" 2>/dev/null && wait "$SMI" 2>/dev/null; }

# unit_tests runs every top-level test of the kernels/cuda binary in its own
# process (a fault is sticky in its context), then the model test binary.
unit_tests() {
	local bin=$1 t rc=0 list
	if ! list=$(cd kernels/cuda && timeout -k 5 60 "$bin/cuda.test" -test.list '.*' 2>&1) ||
		! echo "$list" | grep -q '^Test'; then
		echo "listing the tests failed:"
		echo "$list"
		return 1
	fi
	for t in $(echo "$list" | grep '^Test'); do
		(cd kernels/cuda && timeout -k 5 60 "$bin/cuda.test" -test.run "^$t\$" -test.v -test.count 1) >"$OUT/sync-$t.log" 2>&1
		local r=$?
		echo "$t rc=$r $(grep -c -- '--- FAIL' "$OUT/sync-$t.log") failed"
		[ "$r" = 0 ] || rc=1
	done
	return $rc
}

run() {
	local dir=${1:-gpu-bin} bin
	bin=$(cd "$dir" && pwd) || die "no $dir: build it with scripts/gpu-check.sh build"
	export OUT=${OUT:-$PWD/gpu-out}
	mkdir -p "$OUT"
	[ -e "$OUT/.gitignore" ] || [ -n "$(ls -A "$OUT")" ] || echo '*' >"$OUT/.gitignore"
	: >"$OUT/stages.txt"
	# cuBLAS 13 may live outside the loader's path.
	local d
	for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64; do
		[ -d "$d" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
	done
	export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
	stage env 20 sh -c 'nvidia-smi; nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv;
		echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; ldconfig -p | grep -E "libcublas|libcuda\.so"; ls /usr/local/ | grep -i cuda;
		ldd --version | head -1; uname -a; nproc; free -g'
	stage load 30 sh -c "FRONTIER_CUDA_LOADCHECK=1 '$bin/cuda.test' && '$bin/bench.test' -test.run '^TestCuBLASLoads\$' -test.v"
	stage unit-sync 120 env FRONTIER_CUDA_SYNC=1 bash scripts/gpu-check.sh unit-tests "$bin"
	stage model-sync 40 env FRONTIER_CUDA_SYNC=1 sh -c "cd model && '$bin/model.test' -test.count 1"
	stage unit 60 sh -c "cd kernels/cuda && '$bin/cuda.test' -test.v -test.count 1"
	sample bench-gemm
	stage bench-gemm 45 "$bin/bench.test" -test.run '^$' -test.bench '^Benchmark(Gemm|Attention)$' -test.benchtime 10x
	unsample
	sample bench-train
	stage bench-train 75 "$bin/bench.test" -test.run '^$' -test.bench '^Benchmark(TrainStep|Decode)$' -test.benchtime 3x
	unsample
	sample grpo
	stage grpo 100 "$bin/train" -device cuda -out "$OUT/runs" -name grpo50 -steps 50 -sft-steps 100 \
		-heldout 4 -eval-samples 2 -save-every 50
	unsample
	summary
}

# summary writes $OUT/summary.txt: the stages, the failed tests, the figures.
summary() {
	{
		echo "gpu-check run $(date -u +%FT%TZ), $(($(date +%s) - T0))s"
		grep -m1 -E '^ *[A-Z].*, [0-9]+ MiB' "$OUT/env.log" 2>/dev/null
		grep -h 'cuda load check\|cuBLAS [0-9]' "$OUT/load.log" 2>/dev/null | head -2
		echo "-- stages"
		cat "$OUT/stages.txt"
		echo "-- failed tests"
		grep -h -- '--- FAIL' "$OUT"/sync-*.log "$OUT/unit.log" "$OUT/model-sync.log" 2>/dev/null | sort -u
		echo "-- the end of each failed stage's log"
		grep -E 'FAILED|TIMED OUT' "$OUT/stages.txt" | while read -r name _; do
			echo "[$name]"
			tail -4 "$OUT/$name.log"
		done
		echo "-- figures (MFU: 6 x 0.596e9 parameters x tokens/s over 67 TFLOP/s FP32, 495 TF32 dense, H200 SXM)"
		grep -h -E 'TFLOP/s|tokens/s' "$OUT/bench-gemm.log" "$OUT/bench-train.log" 2>/dev/null |
			awk '{ line = $0; for (i = 2; i <= NF; i++) if ($i == "tokens/s" && $1 ~ /TrainStep/) {
				peak = ($1 ~ /tf32=true/) ? 495e12 : 67e12; line = line sprintf("  MFU %.1f%%", 600 * 0.596e9 * $(i-1) / peak) }
				print line }'
		for f in "$OUT"/smi-*.csv; do
			[ -e "$f" ] || continue
			awk -F', ' -v n="$(basename "$f" .csv)" 'NR > 1 && $4 + 0 > 0 { u = $2 + 0; m = $4 + 0; if (u > mu) mu = u; if (m > mm) mm = m; su += u; c++ }
				END { if (c) printf "%s: peak memory %d MiB, utilisation mean %.0f%% max %d%% (%d samples)\n", n, mm, su / c, mu, c }' "$f"
		done
		echo "-- grpo"
		tr '\r' '\n' <"$OUT/grpo.log" 2>/dev/null | grep -E '^(model:|SFT done|eval )| 50/50 ' | sort -u | tail -6
	} >"$OUT/summary.txt"
	cat "$OUT/summary.txt"
}

case ${1:-} in
build) build "${2:-}" ;;
run) run "${2:-}" ;;
verify)
	shift
	verify "$@"
	;;
unit-tests) unit_tests "$2" ;; # a stage of run
*) die "usage: $0 build [DIR] | run [DIR] | verify BIN..." ;;
esac
