#!/usr/bin/env python3
"""The photoz training recipe in PyTorch, on the same shards, for the parity check of photoz train.

Reads a photoz data set (manifest.json + shards) with h5py, trains the reference network of
../shared/reference/bench/ref_models.py (PasquetInception or SimpleCNN) with the recipe photoz
uses (Adam, learning rate divided by --lr-gamma every --lr-step steps (default half-way),
random k*90 rotations and flips, pixel transform sign(x)(sqrt(|x|+1)-1), E(B-V) fed to the dense
layers, model selected on the valid split's sigma_MAD), then reports bias, sigma_MAD and eta on
the test split (point estimate: PDF mean over bin centres), as JSON.

  OMP_NUM_THREADS=2 python scripts/torch-train.py --data DIR --model pasquet --steps 1000 \
      --batch-size 32 --lr 3e-4 --valid-every 250 --json out.json
Needs torch and h5py (the benchmark venv of ../shared/reference/bench/setup_venv.sh).
"""
import argparse, json, os, sys, time

import h5py
import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "reference", "bench"))
import ref_models  # noqa: E402


def load(data, split):
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    parts = {k: [] for k in ("images", "z_spec", "ebv")}
    for shard in manifest["shards"]:
        if shard["split"] != split:
            continue
        with h5py.File(os.path.join(data, shard["file"]), "r") as f:
            for k in parts:
                parts[k].append(f[k][:])
    return {k: np.concatenate(v) for k, v in parts.items()}


def transform(x):
    return np.sign(x) * (np.sqrt(np.abs(x) + 1) - 1)


def metrics(zp, zs):
    dz = (zp - zs) / (1 + zs)
    med = np.median(dz)
    return {"n": int(len(dz)), "bias": float(dz.mean()), "median_bias": float(med),
            "sigma_mad": float(1.4826 * np.median(np.abs(dz - med))), "eta_percent": float(100 * np.mean(np.abs(dz) > 0.05))}


def predict(model, d, batch):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(d["z_spec"]), batch):
            x = torch.from_numpy(transform(d["images"][i:i + batch]).astype(np.float32))
            e = torch.from_numpy(d["ebv"][i:i + batch])
            out.append(ref_models.expected_z(model(x, e)).numpy())
    model.train()
    return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", choices=["pasquet", "simple"], default="pasquet")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--lr-step", type=int, default=None)
    ap.add_argument("--lr-gamma", type=float, default=0.2)
    ap.add_argument("--valid-every", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train, valid, test = (load(args.data, s) for s in ("train", "valid", "test"))
    model = ref_models.build(args.model, "classification")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.lr_step or max(1, args.steps // 2), gamma=args.lr_gamma)
    loss_fn = ref_models.loss_fn("classification")
    n = len(train["z_spec"])
    steps_per_epoch = n // args.batch_size
    valid_every = args.valid_every or steps_per_epoch
    best, best_state, history = None, None, []
    order = rng.permutation(n)
    start = time.time()
    for step in range(args.steps):
        k = step % steps_per_epoch
        if k == 0 and step > 0:
            order = rng.permutation(n)
        idx = np.sort(order[k * args.batch_size:(k + 1) * args.batch_size])
        x = train["images"][idx].copy()
        for i in range(len(idx)):
            x[i] = np.rot90(x[i], rng.integers(4), axes=(1, 2))
            if rng.integers(2):
                x[i] = x[i][:, :, ::-1]
        xt = torch.from_numpy(np.ascontiguousarray(transform(x)).astype(np.float32))
        loss = loss_fn(model(xt, torch.from_numpy(train["ebv"][idx])), ref_models.make_target("classification", torch.from_numpy(train["z_spec"][idx])))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % valid_every == 0 or step + 1 == args.steps:
            m = metrics(predict(model, valid, 64), valid["z_spec"])
            history.append({"step": step + 1, "train_loss": float(loss), "valid": m, "seconds": time.time() - start})
            print(json.dumps(history[-1]), flush=True)
            if best is None or m["sigma_mad"] < best["sigma_mad"]:
                best, best_state = m, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    result = {"model": args.model, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
              "images_per_s": args.steps * args.batch_size / (time.time() - start),
              "best_valid": best, "test": metrics(predict(model, test, 64), test["z_spec"]), "history": history}
    print(json.dumps({"test": result["test"], "images_per_s": result["images_per_s"]}))
    if args.json:
        json.dump(result, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
