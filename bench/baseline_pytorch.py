#!/usr/bin/env python3
"""baseline_pytorch.py - the PyTorch twin of `clnet-bench run --train`: the same
zoo network (lenet5, resnet20 option A, torchvision resnet18 and mobilenet_v2),
the same training step (forward in training mode, softmax cross-entropy against
random labels, backward, SGD with momentum), timed per step on the CPU, or on
PyTorch's CUDA device when clnet's device is a GPU.

clnet-bench runs it as
  python3 baseline_pytorch.py --model M --batch B --input CxHxW --classes N
                              --threads T --reps R --lr LR --momentum MU
                              --device cpu|cuda [--train]
and reads one JSON line from stdout: {"params", "ms", "ms_min", "ms_max"}.
Exit status 2: a model with no twin here or a bad option; 3: torch is missing;
4: --device cuda without a CUDA device.
"""
import argparse
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("baseline_pytorch.py: python3-torch is not installed", file=sys.stderr)
    sys.exit(3)


def lenet5(c, h, w, classes):
    """lib/nn/zoo/lenet5.cfg: two 5x5 convs (the first padded), max pooling, three FCs."""
    def out(size, k, p):
        return size + 2 * p - k + 1
    h1, w1 = out(h, 5, 2) // 2, out(w, 5, 2) // 2
    h2, w2 = out(h1, 5, 0) // 2, out(w1, 5, 0) // 2
    return nn.Sequential(
        nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * h2 * w2, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, classes))


class CifarBlock(nn.Module):
    """A basic block of lib/nn/zoo/resnet20.cfg: the shortcut of a downsampling
    block subsamples with stride 2 and pads the missing channels with zeros
    (option A), so it has no parameters."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad:
            s = F.pad(s, (0, 0, 0, 0, 0, self.pad))
        return F.relu(y + s)


def cifar_resnet(n, c, classes):
    """He et al.'s 6n+2 CIFAR ResNet (resnet20: n = 3)."""
    layers = [nn.Conv2d(c, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, cout in enumerate((16, 32, 64)):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(CifarBlock(cin, cout, stride))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


def build(model, c, h, w, classes):
    if model == "lenet5":
        return lenet5(c, h, w, classes)
    cifar = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}
    if model in cifar:
        return cifar_resnet(cifar[model], c, classes)
    try:
        import torchvision.models as tvm
    except ImportError:
        print("baseline_pytorch.py: python3-torchvision is not installed", file=sys.stderr)
        sys.exit(3)
    if model in ("resnet18", "resnet34", "resnet50", "mobilenet_v2") and c == 3:
        return getattr(tvm, model)(num_classes=classes)
    print("baseline_pytorch.py: no PyTorch twin of model %s with %d input channels"
          % (model, c), file=sys.stderr)
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--input", required=True, help="CxHxW")
    ap.add_argument("--classes", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--train", action="store_true")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("baseline_pytorch.py: --device cuda: this PyTorch sees no CUDA device",
              file=sys.stderr)
        sys.exit(4)
    try:
        c, h, w = (int(v) for v in a.input.split("x"))
    except ValueError:
        print("baseline_pytorch.py: --input %s is not CxHxW" % a.input, file=sys.stderr)
        sys.exit(2)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = build(a.model, c, h, w, a.classes)
    params = sum(p.numel() for p in net.parameters())
    x = torch.rand(a.batch, c, h, w) * 2 - 1
    labels = torch.randint(0, a.classes, (a.batch,))
    net, x, labels = net.to(a.device), x.to(a.device), labels.to(a.device)
    # CUDA runs asynchronously: a step is over when the device is idle again
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum)
    net.train(a.train)

    def step():
        if not a.train:
            with torch.no_grad():
                net(x)
            return
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), labels)
        loss.backward()
        opt.step()

    step()  # the first step allocates and picks its kernels: timed apart by clnet too
    sync()
    times = []
    for _ in range(a.reps):
        t = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    r = len(times)
    median = times[r // 2] if r % 2 else 0.5 * (times[r // 2 - 1] + times[r // 2])
    print(json.dumps({"params": params, "threads": torch.get_num_threads(), "ms": median,
                      "ms_min": times[0], "ms_max": times[-1]}))


if __name__ == "__main__":
    main()
