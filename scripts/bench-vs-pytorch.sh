#!/usr/bin/env bash
# bench-vs-pytorch.sh: frontier's model benchmarks and the PyTorch baseline
# (scripts/torch_baseline.py, Debian's python3-torch) in one run, with the
# machine's FMA peak and read bandwidth measured in the same run
# (scripts/machine_probe.c), and the ratios frontier / PyTorch.
#
# Order: probe, frontier, PyTorch, frontier again, probe again. Each frontier
# figure is the median of its COUNT samples over both frontier passes, so a
# change of load during the PyTorch run hits both sides alike; the two probe
# runs bracket the whole.
#
# Usage: [THREADS=2] [COUNT=3] [QUICK=1] scripts/bench-vs-pytorch.sh
#   THREADS  threads for both (GOMAXPROCS via -cpu, torch.set_num_threads)
#   COUNT    samples per frontier benchmark per pass (each 20 steps for the
#            tiny model, 3 for 0.6b-2l)
#   QUICK=1  only the tiny model (skips 0.6b-2l training and decoding)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${THREADS:-2}
COUNT=${COUNT:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	echo "installing python3-torch..." >&2
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch
fi

echo "== machine"
grep -m1 'model name' /proc/cpuinfo || true
echo "cores: $(nproc); vector flags: $(grep -m1 -o -w -E 'avx2|fma|avx512f|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
cc -O2 -mavx2 -mfma -pthread -o "$work/probe" "$repo/scripts/machine_probe.c"
"$work/probe" "$THREADS" | tee "$work/probe1.txt"

torch_only=()
if [ "${QUICK:-0}" = 1 ]; then
	torch_only=(--only train)
fi
# The tiny model's benchmarks run 20 steps per sample (PyTorch's baseline
# times 20 after 2 warm-ups), the 0.6b-2l ones 3.
frontier() {
	(cd "$repo" && go test -run '^$' -timeout 0 -bench 'Model(Train|Decode)/tiny' -benchtime 20x -count "$COUNT" -cpu "$THREADS" .) |
		grep -E '^Benchmark|^cpu:' | tee -a "$work/go.txt"
	if [ "${QUICK:-0}" != 1 ]; then
		(cd "$repo" && go test -run '^$' -timeout 0 -bench 'Model(Train|Decode)/0.6b' -benchtime 3x -count "$COUNT" -cpu "$THREADS" .) |
			grep -E '^Benchmark' | tee -a "$work/go.txt"
	fi
}
echo "== frontier ($(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
frontier
echo "== PyTorch"
/usr/bin/python3 "$repo/scripts/torch_baseline.py" --threads "$THREADS" "${torch_only[@]}" --json "$work/torch.json"
echo "== frontier, second pass"
frontier
echo "== machine, again"
"$work/probe" "$THREADS" | tee "$work/probe2.txt"

echo "== ratios (medians, same run, $THREADS threads)"
/usr/bin/python3 - "$work/go.txt" "$work/torch.json" "$THREADS" "$work/probe1.txt" "$work/probe2.txt" <<'EOPY'
import json, re, statistics, sys

go, mb = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"Benchmark(\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) tokens/s", line)
    if m:
        go.setdefault(m.group(1), []).append(float(m.group(3)))
        w = re.search(r"([\d.]+) weightMB/step", line)
        if w:
            mb[m.group(1)] = float(w.group(1))
bw = []
for f in sys.argv[4:6]:
    for line in open(f):
        b = re.match(r"read_bandwidth threads=%s ([\d.]+) GB/s" % sys.argv[3], line)
        if b:
            bw.append(float(b.group(1)))
torch = json.load(open(sys.argv[2]))
rows = [
    ("tiny forward+backward tokens/s", "ModelTrain/tiny", "train_tiny", "fwd_bwd_tokens_per_s_median"),
    ("0.6b-2l forward+backward tokens/s", "ModelTrain/0.6b-2l", "train_0.6b-2l", "fwd_bwd_tokens_per_s_median"),
    ("0.6b-2l decode batch 1 tokens/s", "ModelDecode/0.6b-2l/batch=1", "decode_0.6b-2l_b1", "decode_tokens_per_s_median"),
    ("0.6b-2l decode batch 8 tokens/s", "ModelDecode/0.6b-2l/batch=8", "decode_0.6b-2l_b8", "decode_tokens_per_s_median"),
]
print("| figure | frontier | PyTorch %s | ratio |" % torch.get("torch", "?"))
print("|---|---|---|---|")
for name, gk, tk, field in rows:
    if gk not in go or tk not in torch:
        continue
    f, t = statistics.median(go[gk]), torch[tk][field]
    print("| %s | %.1f | %.1f | %.2fx |" % (name, f, t, f / t))
for gk in sorted(go):
    if gk.startswith("ModelDecode/tiny"):
        print("frontier %s: %.1f tokens/s (no PyTorch counterpart)" % (gk, statistics.median(go[gk])))
# Batch-1 decoding reads every weight matrix once per token, so the read
# bandwidth bounds it: roofline tokens/s = bandwidth / weight bytes per step.
# The higher of the two bandwidth probes gives the stricter roofline.
for gk in sorted(go):
    if "/batch=1" in gk and gk in mb and mb[gk] > 64 and bw:  # weights larger than the caches
        roof = max(bw) * 1e3 / mb[gk]
        f = statistics.median(go[gk])
        print("frontier %s: %.1f tokens/s = %.0f%% of the roofline %.1f tokens/s (%.1f MB of weights per token, read bandwidth %.1f GB/s at %s threads, the higher of the two probes)"
              % (gk, f, 100 * f / roof, roof, mb[gk], max(bw), sys.argv[3]))
for gk in sorted(go):
    if gk.endswith("/bf16") and gk[:-len("/bf16")] in go:
        f, h = statistics.median(go[gk[:-len("/bf16")]]), statistics.median(go[gk])
        print("frontier %s: bfloat16 weights %.1f tokens/s, %.2fx float32's %.1f" % (gk[:-len("/bf16")], h, h / f, f))
EOPY
