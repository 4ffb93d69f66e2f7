"""Reference models in PyTorch for the zoo's state-dict import test.

Usage: /usr/bin/python3 reference_models.py OUT_DIR

Defines LeNet-5 and a CIFAR ResNet-18 (width 1/8) with the same module names as the C++ zoo
(hawx::zoo::make_model), seeds, and writes for each model NAME:
  OUT_DIR/NAME.state_dict.pt   torch.save(model.state_dict())  (an OrderedDict, as usual)
  OUT_DIR/NAME.io.pt           {"input": x, "output": model(x)} in eval mode
The ResNet's BatchNorm statistics are moved away from their initial values by a few
training-mode forward passes, so eval mode really uses imported running statistics.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, width=0.125):
        super().__init__()
        c = [max(1, round(w * width)) for w in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(in_channels, c[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c[0])
        cin = c[0]
        for i, cout in enumerate(c):
            stride = 1 if i == 0 else 2
            setattr(self, "layer%d" % (i + 1), nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for i in range(4):
            x = getattr(self, "layer%d" % (i + 1))(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)

    lenet = LeNet5().eval()
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        y = lenet(x)
    torch.save(lenet.state_dict(), os.path.join(out, "lenet5.state_dict.pt"))
    torch.save({"input": x, "output": y}, os.path.join(out, "lenet5.io.pt"))

    resnet = ResNet18()
    with torch.no_grad():
        resnet.train()
        for _ in range(3):
            resnet(torch.randn(8, 3, 16, 16) * 2 + 0.5)
        for m in resnet.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        resnet.eval()
        x = torch.randn(2, 3, 16, 16)
        y = resnet(x)
    torch.save(resnet.state_dict(), os.path.join(out, "resnet18.state_dict.pt"))
    torch.save({"input": x, "output": y}, os.path.join(out, "resnet18.io.pt"))


if __name__ == "__main__":
    main()
