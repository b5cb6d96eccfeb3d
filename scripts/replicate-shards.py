#!/usr/bin/env python3
"""Makes a larger photoz data set by replicating an existing one with new object ids.

Used by the memory benchmark of `photoz train` (docs/benchmarks.md): the 100,000-row data set
is five copies of a simulated 20,000-galaxy sky, object_id offset by 10^12 per copy, so the
rows are real shard rows and every id is unique. Shards keep their split.

  python scripts/replicate-shards.py SRC DST --copies 5 [--fraction F]   (--fraction: keep the first F of each shard's rows)
"""
import argparse, hashlib, json, os, shutil
import h5py


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src"); ap.add_argument("dst")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--fraction", type=float, default=1.0)
    a = ap.parse_args()
    manifest = json.load(open(os.path.join(a.src, "manifest.json")))
    os.makedirs(a.dst, exist_ok=False)
    shards, total, counts = [], 0, {"train": 0, "valid": 0, "test": 0}
    for copy in range(a.copies):
        for entry in manifest["shards"]:
            name = f"{entry['split']}-c{copy}-{entry['file'].split('-')[-1]}"
            path = os.path.join(a.dst, name)
            shutil.copyfile(os.path.join(a.src, entry["file"]), path)
            with h5py.File(path, "r+") as f:
                n = f["object_id"].shape[0]
                keep = max(1, int(round(n * a.fraction)))
                ids = f["object_id"][:] + copy * 10**12
                f["object_id"][:] = ids
                if keep < n:
                    for k in ["images", "object_id", "ra", "dec", "z_spec", "z_spec_err", "ebv"]:
                        f[k].resize(keep, axis=0)
                    f.attrs["rows"] = keep
            total += keep
            counts[entry["split"]] += keep
            shards.append({"file": name, "split": entry["split"], "rows": keep, "sha256": sha256(path), "bytes": os.path.getsize(path)})
    manifest["shards"], manifest["rows"] = shards, counts
    manifest["inputs"] = dict(manifest["inputs"], replicated_from=os.path.abspath(a.src), copies=str(a.copies))
    json.dump(manifest, open(os.path.join(a.dst, "manifest.json"), "w"), indent=2, sort_keys=True)
    print(json.dumps({"rows": total, "shards": len(shards), **counts}))


if __name__ == "__main__":
    main()
