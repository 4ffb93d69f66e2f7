"""TorchScript models for the import test (tests/zoo/script_import_test.cpp).

Usage: /usr/bin/python3 script_models.py OUT_DIR

Writes, for each model NAME, OUT_DIR/NAME.script.pt (torch.jit.script(model).save) and
OUT_DIR/NAME.trace.pt (torch.jit.trace(model, x).save), plus:
  NAME.io.pt          {"input": x, "output": model(x)}  (eager PyTorch, eval mode, no grad)
  NAME.layers.txt     qualified names of the Conv2d / Linear modules in the order forward calls them
  lenet5.state_dict.pt  LeNet-5's state dict (the module names of hawx::zoo's lenet5)
Models: lenet5 (tests/zoo/reference_models.py), resnet18 (torchvision, num_classes=10, BatchNorm
statistics moved away from their initial values), linear_ops (linear, x @ P, addmm, matmul with
a transposed weight). And models the importer must refuse (script only unless said):
  transposed   ConvTranspose2d (script and trace)
  runtime_weight  F.conv2d(x, self.w * 2)
  loop         a conv inside a loop whose trip count is the batch size
  train_mode   BatchNorm traced in training mode (trace only)
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_models import LeNet5  # noqa: E402  (module names of the C++ zoo's lenet5)


class LinearOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=(1, 2), padding=(1, 0))
        self.proj = nn.Parameter(torch.randn(4 * 16 * 7, 24) * 0.1)  # used as x @ P
        self.w = nn.Parameter(torch.randn(16, 24) * 0.2)  # addmm(b, x, w.t())
        self.b = nn.Parameter(torch.randn(16) * 0.1)
        self.head = nn.Linear(16, 10)
        self.v = nn.Parameter(torch.randn(10, 10) * 0.3)  # matmul(x, v.t())

    def forward(self, x):
        x = F.relu(self.conv(x)).flatten(1)
        x = F.relu(x @ self.proj)
        x = torch.relu(torch.addmm(self.b, x, self.w.t()))
        x = self.head(x)
        return torch.matmul(x, self.v.t())


class Transposed(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)

    def forward(self, x):
        return self.up(F.relu(self.conv(x))).flatten(1)


class RuntimeWeight(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 1, 3, 3))

    def forward(self, x):
        return F.conv2d(x, self.w * 2).flatten(1)


class Loop(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        for _ in range(x.size(0)):
            x = self.conv(x)
        return x.flatten(1)


class WithBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(self.conv(x)).flatten(1)


def call_order(model, x):
    names, hooks = [], []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_pre_hook(lambda mod, inp, name=name: names.append(name)))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return names


def export(out, name, model, x, trace=True):
    model.eval()
    torch.jit.script(model).save(os.path.join(out, name + ".script.pt"))
    if trace:
        with torch.no_grad():
            torch.jit.trace(model, x).save(os.path.join(out, name + ".trace.pt"))


def reference(out, name, model, x):
    with torch.no_grad():
        y = model(x)
    torch.save({"input": x, "output": y}, os.path.join(out, name + ".io.pt"))
    with open(os.path.join(out, name + ".layers.txt"), "w") as f:
        f.write("\n".join(call_order(model, x)) + "\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)  # as LibTorch in the test
    torch.manual_seed(0)

    lenet = LeNet5().eval()
    x = torch.randn(4, 1, 32, 32)
    export(out, "lenet5", lenet, x)
    reference(out, "lenet5", lenet, x)
    torch.save(lenet.state_dict(), os.path.join(out, "lenet5.state_dict.pt"))

    resnet = torchvision.models.resnet18(num_classes=10)
    with torch.no_grad():
        resnet.train()
        for _ in range(2):
            resnet(torch.randn(4, 3, 32, 32) * 2 + 0.5)
        for m in resnet.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    resnet.eval()
    x = torch.randn(2, 3, 32, 32)
    export(out, "resnet18", resnet, x)
    reference(out, "resnet18", resnet, x)

    ops = LinearOps().eval()
    x = torch.randn(3, 1, 16, 16)
    export(out, "linear_ops", ops, x)
    reference(out, "linear_ops", ops, x)

    x = torch.randn(1, 1, 8, 8)
    export(out, "transposed", Transposed(), x)
    export(out, "runtime_weight", RuntimeWeight(), x, trace=False)
    export(out, "loop", Loop(), x, trace=False)
    bn = WithBatchNorm().train()
    with torch.no_grad():
        torch.jit.trace(bn, torch.randn(2, 1, 8, 8)).save(os.path.join(out, "train_mode.trace.pt"))


if __name__ == "__main__":
    main()
