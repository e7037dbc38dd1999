#!/usr/bin/python3
"""Expected losses of ten whole training steps on the tiny Qwen3 fixtures.

An independent reference for model/modeltest.CheckSteps: a Qwen3 written
here from the equations of testdata/qwen3-tiny/README.md, run in float64 with
PyTorch autograd, trained for STEPS steps of

    forward -> weighted NLL -> backward -> global-norm clip -> AdamW update

on fixed packed batches, from the weights of testdata/qwen3-tiny/{tied,untied}.
It writes testdata/qwen3-tiny-steps/<folder>.json: the hyper-parameters, every
step's batch (ids, cu_seqlens, targets, per-token weights), the loss and the
gradient norm measured before each update, and per-tensor norms of the final
parameters and of their total change.

The optimizer is written out below with the conventions of optim.AdamW and
the kernels' AdamW (decoupled weight decay on the old parameter, bias
correction of both moments, eps added after the square root):

    g  *= clip / (|g| + 1e-6)          when |g| > clip (|g| over all parameters)
    m   = b1*m + (1-b1)*g;   v = b2*v + (1-b2)*g^2
    p  -= lr_t * ( (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps) + wd*p )

with lr_t from optim.Schedule (linear warm-up over WARMUP steps, then cosine
to MIN_RATIO at TOTAL). The same trajectory is also run with
torch.optim.AdamW and torch.nn.utils.clip_grad_norm_, and the two must agree.
The script also checks its own forward against the fixture's expected loss.

Regenerate (Debian bookworm: apt-get install -y python3-torch python3-numpy;
torch 1.13.1, which prints 1.13.0a0), from the repository root:

    /usr/bin/python3 scripts/reference_steps.py

The output is deterministic: rerunning rewrites the same bytes.
"""

import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "testdata", "qwen3-tiny")
OUT = os.path.join(ROOT, "testdata", "qwen3-tiny-steps")

STEPS = 10
OPT = {
    "lr": 3e-3,
    "beta1": 0.9,
    "beta2": 0.95,
    "eps": 1e-8,
    "weight_decay": 0.1,
    "clip_norm": 1.0,
    "warmup": 3,
    "total": STEPS,
    "min_ratio": 0.1,
}
SEQS_PER_STEP = 3
SEQ_LEN = (2, 9)  # inclusive range of sequence lengths
SEQ_WEIGHTS = (1.0, 0.5, -0.5)  # per-sequence loss weights, as RL advantages


def read_safetensors(path):
    """Returns {name: numpy array} for the F32 and I64 tensors of a file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    kinds = {"F32": "<f4", "I64": "<i8"}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        buf = raw[base + lo : base + hi]
        out[name] = np.frombuffer(buf, dtype=kinds[info["dtype"]]).reshape(info["shape"])
    return out


def lr_factor(step):
    """optim.Schedule.Factor for a cosine schedule, step counted from 0."""
    if step < OPT["warmup"]:
        return (step + 1) / OPT["warmup"]
    p = (step - OPT["warmup"]) / (OPT["total"] - OPT["warmup"])
    p = min(max(p, 0.0), 1.0)
    r = OPT["min_ratio"]
    return r + (1 - r) * 0.5 * (1 + math.cos(math.pi * p))


def rms_norm(x, w, eps):
    return w * x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)


def rope(u, pos, theta):
    """Rotate-half RoPE of u [T, heads, hd] at positions pos [T]."""
    hd = u.shape[-1]
    half = hd // 2
    inv = theta ** (-torch.arange(half, dtype=torch.float64) * 2 / hd)
    ang = pos.to(torch.float64)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
    rot = torch.cat([-u[..., half:], u[..., :half]], -1)
    return u * cos + rot * sin


def sequence_logits(P, cfg, ids):
    """Logits [T, V] of one sequence ids [T] (positions 0..T-1)."""
    T = len(ids)
    H, KV, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    pos = torch.arange(T)
    x = P["model.embed_tokens.weight"][torch.tensor(ids)]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(cfg["num_hidden_layers"]):
        w = lambda n: P[f"model.layers.{i}.{n}.weight"]
        h = rms_norm(x, w("input_layernorm"), eps)
        q = (h @ w("self_attn.q_proj").T).view(T, H, hd)
        k = (h @ w("self_attn.k_proj").T).view(T, KV, hd)
        v = (h @ w("self_attn.v_proj").T).view(T, KV, hd)
        q = rope(rms_norm(q, w("self_attn.q_norm"), eps), pos, cfg["rope_theta"])
        k = rope(rms_norm(k, w("self_attn.k_norm"), eps), pos, cfg["rope_theta"])
        kv_of = torch.arange(H) // (H // KV)
        k, v = k[:, kv_of], v[:, kv_of]  # [T, H, hd]
        s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(hd)
        a = s.masked_fill(~causal, float("-inf")).softmax(-1)
        o = torch.einsum("hts,shd->thd", a, v).reshape(T, H * hd)
        x = x + o @ w("self_attn.o_proj").T
        h = rms_norm(x, w("post_attention_layernorm"), eps)
        g = h @ w("mlp.gate_proj").T
        x = x + (torch.nn.functional.silu(g) * (h @ w("mlp.up_proj").T)) @ w("mlp.down_proj").T
    head = P["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else P["lm_head.weight"]
    return rms_norm(x, P["model.norm.weight"], eps) @ head.T


def batch_loss(P, cfg, b):
    """loss = -sum_i w_i log p(target_i) / denom over a packed batch b."""
    total = torch.zeros((), dtype=torch.float64)
    st = b["starts"]
    for s in range(len(st) - 1):
        lo, hi = st[s], st[s + 1]
        logp = sequence_logits(P, cfg, b["ids"][lo:hi]).log_softmax(-1)
        for t in range(lo, hi):
            if b["targets"][t] >= 0 and b["weights"][t] != 0:
                total = total - b["weights"][t] * logp[t - lo, b["targets"][t]]
    return total / b["denom"]


def make_batches(vocab, seed):
    """STEPS packed batches of SEQS_PER_STEP random sequences each."""
    gen = torch.Generator().manual_seed(seed)
    rint = lambda lo, hi: int(torch.randint(lo, hi, (1,), generator=gen))
    batches = []
    for _ in range(STEPS):
        ids, starts, targets, weights = [], [0], [], []
        for _ in range(SEQS_PER_STEP):
            n = rint(SEQ_LEN[0], SEQ_LEN[1] + 1)
            seq = [rint(0, vocab) for _ in range(n)]
            w = SEQ_WEIGHTS[rint(0, len(SEQ_WEIGHTS))]
            ids += seq
            targets += seq[1:] + [-1]  # the last token has no target
            weights += [w] * (n - 1) + [0.0]
            starts.append(len(ids))
        denom = sum(1 for t in targets if t >= 0)
        batches.append({"ids": ids, "starts": starts, "targets": targets, "weights": weights, "denom": denom})
    return batches


def train_by_hand(P, cfg, batches):
    """The trajectory with the update written out; returns per-step records."""
    names = list(P)
    m = {n: torch.zeros_like(P[n]) for n in names}
    v = {n: torch.zeros_like(P[n]) for n in names}
    b1, b2, eps, wd = OPT["beta1"], OPT["beta2"], OPT["eps"], OPT["weight_decay"]
    records = []
    for step, b in enumerate(batches):
        for n in names:
            P[n].grad = None
        loss = batch_loss(P, cfg, b)
        loss.backward()
        norm = math.sqrt(sum(float((P[n].grad ** 2).sum()) for n in names))
        scale = OPT["clip_norm"] / (norm + 1e-6) if norm > OPT["clip_norm"] else 1.0
        lr, t = OPT["lr"] * lr_factor(step), step + 1
        with torch.no_grad():
            for n in names:
                g = P[n].grad * scale
                m[n] = b1 * m[n] + (1 - b1) * g
                v[n] = b2 * v[n] + (1 - b2) * g * g
                mh, vh = m[n] / (1 - b1**t), v[n] / (1 - b2**t)
                P[n] -= lr * (mh / (vh.sqrt() + eps) + wd * P[n])
        records.append({"loss": float(loss), "grad_norm": norm})
    return records


def train_with_torch_optim(P, cfg, batches):
    """The same trajectory through torch.optim.AdamW; returns the losses."""
    opt = torch.optim.AdamW(
        list(P.values()), lr=OPT["lr"], betas=(OPT["beta1"], OPT["beta2"]),
        eps=OPT["eps"], weight_decay=OPT["weight_decay"],
    )
    losses = []
    for step, b in enumerate(batches):
        opt.zero_grad()
        loss = batch_loss(P, cfg, b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(P.values()), OPT["clip_norm"])
        for group in opt.param_groups:
            group["lr"] = OPT["lr"] * lr_factor(step)
        opt.step()
        losses.append(float(loss))
    return losses


def load_params(folder):
    """The fixture's parameters as float64 leaf tensors, and its config."""
    with open(os.path.join(FIXTURES, folder, "config.json")) as f:
        cfg = json.load(f)
    raw = read_safetensors(os.path.join(FIXTURES, folder, "model.safetensors"))
    P = {n: torch.tensor(a.astype(np.float64), requires_grad=True) for n, a in sorted(raw.items())}
    return P, cfg


def check_fixture_loss(folder):
    """The script's model must reproduce the fixture's expected loss."""
    P, cfg = load_params(folder)
    exp = read_safetensors(os.path.join(FIXTURES, folder, "expected.safetensors"))
    ids, tg = exp["input_ids"], exp["targets"]
    B, T = ids.shape
    b = {
        "ids": [int(i) for i in ids.reshape(-1)],
        "starts": [s * T for s in range(B + 1)],
        "targets": [int(i) for i in tg.reshape(-1)],
        "weights": [1.0] * (B * T),
        "denom": B * T,
    }
    got, want = float(batch_loss(P, cfg, b)), float(exp["loss"][0])
    if abs(got - want) > 1e-6:
        sys.exit(f"{folder}: this script's loss {got} differs from the fixture's {want}")


def run(folder, seed):
    check_fixture_loss(folder)
    P, cfg = load_params(folder)
    init = {n: p.detach().clone() for n, p in P.items()}
    batches = make_batches(cfg["vocab_size"], seed)
    records = train_by_hand(P, cfg, batches)
    P2, _ = load_params(folder)
    other = train_with_torch_optim(P2, cfg, batches)
    worst = max(abs(r["loss"] - o) for r, o in zip(records, other))
    worst = max([worst] + [float((P[n] - P2[n]).abs().max()) for n in P])
    if worst > 1e-12:
        sys.exit(f"{folder}: the written-out AdamW and torch.optim.AdamW differ by {worst}")
    tensors = {
        n: {"norm": float(p.detach().norm()), "update_norm": float((p.detach() - init[n]).norm())}
        for n, p in P.items()
    }
    steps = [dict(b, **r) for b, r in zip(batches, records)]
    return {
        "fixture": folder,
        "about": "loss = -sum_i weights[i]*log p(targets[i]) / denom; loss and grad_norm are measured "
        "before each step's update; tensors hold the norms of the final parameters and of their "
        "change from the fixture's weights. Written by scripts/reference_steps.py.",
        "torch": torch.__version__,
        "optimizer": OPT,
        "steps": steps,
        "tensors": tensors,
    }


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for folder, seed in (("tied", 101), ("untied", 202)):
        ref = run(folder, seed)
        path = os.path.join(OUT, folder + ".json")
        text = json.dumps(ref, indent=1)
        # One line per list of numbers.
        text = re.sub(r"\[([^\[\]{}]*)\]", lambda mt: "[" + " ".join(mt.group(1).split()) + "]", text)
        with open(path, "w") as f:
            f.write(text + "\n")
        losses = " ".join(f"{s['loss']:.6f}" for s in ref["steps"])
        print(f"{os.path.relpath(path, ROOT)}: losses {losses}")


if __name__ == "__main__":
    main()
