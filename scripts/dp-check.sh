#!/usr/bin/env bash
# dp-check.sh: checks data-parallel training over MPI end to end (issue 15):
#   1. installs Debian's openmpi-bin and libopenmpi-dev when mpirun or
#      mpi.h is missing, vets the mpi-tagged code and builds cmd/train with
#      -tags mpi; vets and builds the NCCL communicator (-tags cuda; it
#      loads libnccl.so.2 with dlopen, so no CUDA or NCCL is needed to
#      build, and without a GPU it is not run);
#   2. runs the rl package's MPI tests on 2 ranks: GRPO (plain, GDRO, DAPO)
#      and SFT steps on 2 ranks equal the same steps on 1 rank, bit for bit;
#   3. runs a short built-in experiment (SFT, GRPO with Prompt-GDRO,
#      evaluation) on 1 rank and on 2 ranks with the same -grad-shards and
#      compares the final weights, the evaluation and every metric but the
#      timings, byte for byte.
# About a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		echo "dp-check: need root to run: $*" >&2
		exit 1
	fi
}
if ! command -v mpirun >/dev/null || ! pkg-config --exists ompi 2>/dev/null; then
	echo "dp-check: installing openmpi-bin and libopenmpi-dev..." >&2
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openmpi-bin libopenmpi-dev pkg-config
fi
mpirun=(mpirun --allow-run-as-root --oversubscribe -np 2)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go vet -tags mpi ./collective/ ./rl/ ./pipeline/ ./cmd/train/
go vet -tags cuda ./collective/
go test -c -tags cuda -o "$tmp/nccl.test" ./collective/
go test -c -tags mpi -o "$tmp/collective.test" ./collective/
go test -c -tags mpi -o "$tmp/rl.test" ./rl/
go build -tags mpi -o "$tmp/train" ./cmd/train/
"${mpirun[@]}" "$tmp/collective.test" -test.run MPI
(cd rl && "${mpirun[@]}" "$tmp/rl.test" -test.run MPI)

args=(-out "$tmp/runs" -threads 1 -grad-shards 4 -sft-steps 20 -sft-warmup 5 -sft-batch 16
	-steps 3 -prompts 8 -rollouts 4 -minibatches 2 -pool 64 -heldout 2 -eval-samples 1)
"$tmp/train" "${args[@]}" -name one >"$tmp/one.log"
"${mpirun[@]}" "$tmp/train" "${args[@]}" -name two >"$tmp/two.log"
untimed() { sed -E 's/"(timing|throughput)\/[a-z_]+":[^,}]*,?//g; s/"step_time":[^,}]*,?//g' "$1"; }
for f in model.safetensors eval.json sft_metrics.jsonl; do
	cmp "$tmp/runs/one/$f" "$tmp/runs/two/$f"
done
if ! diff <(untimed "$tmp/runs/one/metrics.jsonl") <(untimed "$tmp/runs/two/metrics.jsonl"); then
	echo "dp-check: the 2-rank run's metrics differ from the 1-rank run's" >&2
	exit 1
fi
echo "dp-check: ok (2 ranks equal 1 rank: weights, evaluation and metrics)"
