"""A model as a HAWX user brings it (issue 15, item 2): trained in PyTorch on Fashion-MNIST at
its native 28x28 size, exported scripted and traced, with the ops researchers' small networks
use: depthwise and grouped convolutions, bias-free layers, a BatchNorm, SiLU / ReLU6 /
hardswish, a residual add, adaptive_avg_pool2d and flatten.

Usage: /usr/bin/python3 user_model.py OUT_DIR [TRAIN_IMAGES]

Writes OUT_DIR/user.script.pt, OUT_DIR/user.trace.pt and OUT_DIR/user.json:
  {"mean": m, "std": s, "test_images": 10000,
   "correct": {"eager": n, "script": n, "trace": n}}   (the test images PyTorch classifies right,
   normalised with (x / 255 - mean) / std, batch 256, the saved files loaded back with torch.jit.load)
Reads the Debian package's IDX files (/usr/share/datasets/fashion-mnist). Deterministic (seed 0,
one thread)."""
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(name):
    for n in (name + ".gz", name):
        p = os.path.join(DATA, n)
        if os.path.exists(p):
            with (gzip.open(p) if p.endswith(".gz") else open(p, "rb")) as f:
                data = f.read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise SystemExit("no " + name + " in " + DATA)


class UserNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)  # depthwise
        self.pw = nn.Conv2d(16, 32, 1, bias=False)
        self.grouped = nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=4)
        self.proj = nn.Conv2d(32, 32, 1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.silu(self.bn(self.stem(x)))
        y = F.relu6(self.pw(self.dw(x)))
        y = F.hardswish(self.grouped(y))
        y = y + self.proj(y)
        y = F.adaptive_avg_pool2d(y, 1)
        return self.fc(torch.flatten(y, 1))


def normalise(images):
    return (torch.from_numpy(images.copy()).float().div(255.0).unsqueeze(1) - MEAN) / STD


def correct(model, x, y):
    n = 0
    with torch.no_grad():
        for b in range(0, x.shape[0], 256):
            n += int((model(x[b:b + 256]).argmax(1) == y[b:b + 256]).sum())
    return n


def main():
    out = sys.argv[1]
    train_images = int(sys.argv[2]) if len(sys.argv) > 2 else 12000
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    xtr = normalise(idx("train-images-idx3-ubyte")[:train_images])
    ytr = torch.from_numpy(idx("train-labels-idx1-ubyte")[:train_images].astype(np.int64))
    xte = normalise(idx("t10k-images-idx3-ubyte"))
    yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte").astype(np.int64))
    model = UserNet()
    opt = torch.optim.Adam(model.parameters(), lr=0.005)
    model.train()
    order = torch.randperm(train_images)
    for b in range(0, train_images, 64):
        i = order[b:b + 64]
        opt.zero_grad()
        F.cross_entropy(model(xtr[i]), ytr[i]).backward()
        opt.step()
    model.eval()
    torch.jit.script(model).save(os.path.join(out, "user.script.pt"))
    torch.jit.trace(model, xte[:1]).save(os.path.join(out, "user.trace.pt"))
    result = {"mean": MEAN, "std": STD, "test_images": int(xte.shape[0]), "correct": {"eager": correct(model, xte, yte)}}
    for how in ("script", "trace"):
        loaded = torch.jit.load(os.path.join(out, "user." + how + ".pt"))
        result["correct"][how] = correct(loaded, xte, yte)
    with open(os.path.join(out, "user.json"), "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
