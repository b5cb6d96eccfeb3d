"""Make the PyTorch reference fixtures that photoz's network tests compare against.

Run from anywhere with the benchmark venv (torch), e.g.:
    OMP_NUM_THREADS=2 /tmp/bench/venv/bin/python Tests/NeuralNetTests/Fixtures/make_fixtures.py

Uses the reference networks of ../shared/reference/bench/ref_models.py (set REF_MODELS_DIR
to override). Writes, beside this script, for each fixture NAME:
    NAME.bin   all arrays as little-endian float32, concatenated
    NAME.json  {"arrays": {name: {"shape": [...], "offset": <float index>}}, "scalars": {...}}
Parameter names are photoz's paths (see schemas/model-file.md); arrays in PyTorch layout.

Fixtures:
  simple_cnn       SimpleCNN (classification head, 180 bins) on 16x16 images, batch 3:
                   input, E(B-V), z, target bins, parameters, logits, cross-entropy loss,
                   d loss / d input, d loss / d conv1.weight, d loss / d fc.weight.
  inception_block  one Inception(c_in=16, a=6, b=8) block (unaligned channel offsets) with
                   random PReLU slopes, input (2, 16, 8, 8), output, and for
                   L = sum(output * r): dL/d input and dL/d every parameter.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REF = Path(os.environ.get("REF_MODELS_DIR", HERE.parents[3] / "shared" / "reference" / "bench"))
sys.path.insert(0, str(REF))
import ref_models as rm  # noqa: E402


def write(name, arrays, scalars):
    offset, index, chunks = 0, {}, []
    for key, value in arrays.items():
        a = np.ascontiguousarray(value.detach().cpu().numpy() if torch.is_tensor(value) else value,
                                 dtype="<f4")
        index[key] = {"shape": list(a.shape), "offset": offset}
        offset += a.size
        chunks.append(a.ravel())
    np.concatenate(chunks).tofile(HERE / f"{name}.bin")
    with open(HERE / f"{name}.json", "w") as fh:
        json.dump({"arrays": index, "scalars": scalars}, fh, indent=1)
    print(f"{name}: {offset} floats ({offset * 4 / 1e6:.2f} MB)")


def simple_cnn():
    torch.manual_seed(1)
    m = rm.SimpleCNN(head="classification", image_size=16).eval()
    x = torch.rand(3, 5, 16, 16, requires_grad=True)
    ebv = torch.rand(3) * 0.1
    z = torch.tensor([0.05, 0.21, 0.38])
    target = rm.z_to_bin(z)
    logits = m(x, ebv)
    loss = torch.nn.functional.cross_entropy(logits, target)
    loss.backward()
    names = {"features.0": "conv1", "features.3": "conv2", "features.6": "conv3", "fc": "fc", "out": "out"}
    arrays = {"input": x, "ebv": ebv, "z": z, "target": target.float(), "logits": logits,
              "input_gradient": x.grad,
              "grad.conv1.weight": m.features[0].weight.grad, "grad.fc.weight": m.fc.weight.grad}
    for key, p in m.named_parameters():
        mod, kind = key.rsplit(".", 1)
        arrays[f"param.{names[mod]}.{kind}"] = p
    write("simple_cnn", arrays, {"loss": float(loss)})


def inception_block():
    torch.manual_seed(2)
    blk = rm._Inception(16, 6, 8, True, 0.0)
    # photoz path of each unit: b1 = 1x1 -> b; b2 = 1x1 -> a, 5x5; b3 = 1x1 -> a, 3x3; b4 = 1x1 -> a, pool
    units = {"s2_2": "b1.conv", "s1_1": "b2.reduce", "s2_1": "b2.conv", "s1_0": "b3.reduce",
             "s2_0": "b3.conv", "s1_2": "b4.reduce"}
    with torch.no_grad():
        for name in units:
            unit = getattr(blk, name)
            unit.act.weight.uniform_(-0.3, 0.5)
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    y = blk(x)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    arrays = {"input": x, "output": y, "output_weights": r, "input_gradient": x.grad}
    for name, path in units.items():
        unit = getattr(blk, name)
        for kind, p in (("weight", unit.conv.weight), ("bias", unit.conv.bias), ("alpha", unit.act.weight)):
            arrays[f"param.{path}.{kind}"] = p
            arrays[f"grad.{path}.{kind}"] = p.grad
    write("inception_block", arrays, {})


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    simple_cnn()
    inception_block()
