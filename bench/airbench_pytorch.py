#!/usr/bin/python3
"""airbench_pytorch.py - the cifar10-fast recipe of `clnet-bench train --recipe`
(bench/recipes.c: Keller Jordan's airbench94) in PyTorch on the CPU, the
yardstick its time and accuracy are compared with on the same machine.

  python3 bench/airbench_pytorch.py [--data DIR] [--epochs E] [--seed S]
                                    [--limit N] [--test-limit N] [--threads T]
                                    [--steps K] [--json]

Without --steps it runs the recipe (whitening, training, lookahead, the final
test with test-time augmentation) and prints one line per epoch, then the test
accuracy. --steps K instead times K training steps at batch 1024 after two
warm-up steps and prints the median milliseconds per step: the step-time
comparison with clnet-bench (`train --recipe cifar10-fast` reports images/s).
--json prints one JSON line with the figures on stdout.

Threads default to the number of CPUs, which is what PoCL's CPU device
reports as its compute units. Needs python3-torch (Debian); exit status 3
without it, 2 for a bad option, 1 when the data cannot be found.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("airbench_pytorch.py: python3-torch is not installed", file=sys.stderr)
    sys.exit(3)

# The recipe's published facts (the same numbers as bench/recipes.c).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
BATCH = 1024
EPOCHS = 9.9
MOMENTUM = 0.85
KILOSTEP = 1024 * (1 + 1 / (1 - MOMENTUM))
LR = 11.5 / KILOSTEP
DECAY = 0.0153 * 1024 / KILOSTEP          # absolute: lr * weight_decay
BN_LR_MULT = 64.0
LABEL_SMOOTHING = 0.2
WARMUP_FRACTION = 0.23
WHITEN_IMAGES, WHITEN_EPS, WHITEN_BIAS_EPOCHS = 5000, 5e-4, 3
LOOKAHEAD_EVERY, LOOKAHEAD_BASE = 5, 0.95 ** 5
TRANSLATE = 2
WIDTHS = (64, 256, 256)


# ---- data ----------------------------------------------------------------

def read_records(path):
    """One CIFAR-10 binary batch (gzipped or not): labels, uint8 images."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    rec = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(-1, 3073)
    return rec[:, 0].long(), rec[:, 1:].reshape(-1, 3, 32, 32)


def find_batch(dirs, name):
    for d in dirs:
        for sub in ("cifar-10-batches-bin", ""):
            for ext in ("", ".gz"):
                p = os.path.join(d, sub, name + ext)
                if os.path.exists(p):
                    return p
    return None


def load_cifar10(data_dir):
    here = os.path.dirname(os.path.abspath(__file__))
    # where clnet looks (README.md): --data, $CLNET_DATA, then the shared copy
    # relative to the working directory and to this file
    dirs = [d for d in (data_dir, os.environ.get("CLNET_DATA"),
                        os.path.join("..", "shared", "datasets"),
                        os.path.join("..", "..", "shared", "datasets"),
                        os.path.join(here, "..", "..", "shared", "datasets")) if d]
    splits = {}
    for split, names in (("train", ["data_batch_%d.bin" % i for i in range(1, 6)]),
                         ("test", ["test_batch.bin"])):
        labels, images = [], []
        for name in names:
            path = find_batch(dirs, name)
            if not path:
                print("airbench_pytorch.py: %s not found in %s" % (name, ", ".join(dirs)),
                      file=sys.stderr)
                sys.exit(1)
            y, x = read_records(path)
            labels.append(y)
            images.append(x)
        splits[split] = (torch.cat(images), torch.cat(labels))
    return splits


def normalise(images):
    x = images.float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def random_translate(images, pad, gen):
    """Each image shifted by up to +-pad pixels, reflect padding."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pad,) * 4, mode="reflect")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    out = torch.empty_like(images)
    for sy in range(2 * pad + 1):
        for sx in range(2 * pad + 1):
            sel = (dy == sy) & (dx == sx)
            if sel.any():
                out[sel] = padded[sel, :, sy:sy + h, sx:sx + w]
    return out


# ---- the network ---------------------------------------------------------

def batch_norm(c):
    bn = nn.BatchNorm2d(c, eps=1e-12, momentum=0.4)
    bn.weight.requires_grad = False           # bias-only: the scale stays 1
    return bn


def conv3x3(c_in, c_out):
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:c_in])    # first C_in filters: identity
    return conv


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.whiten = nn.Conv2d(3, 24, 2, padding=0, bias=True)
        layers, c = [], 24
        for w in WIDTHS:
            layers += [conv3x3(c, w), nn.MaxPool2d(2), batch_norm(w), nn.GELU(),
                       conv3x3(w, w), batch_norm(w), nn.GELU()]
            c = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, 10, bias=False)

    def forward(self, x):
        x = F.gelu(self.whiten(x))
        x = F.max_pool2d(self.body(x), 3)
        return self.head(x.flatten(1)) / 9.0


def init_whitening(conv, images):
    """Eigenvectors of the 2x2x3 patches' second-moment matrix, scaled by
    1/sqrt(eigenvalue + eps), and their negatives."""
    patches = images.unfold(2, 2, 1).unfold(3, 2, 1)          # n, c, h', w', 2, 2
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 12).double()
    cov = patches.t() @ patches / patches.shape[0]
    values, vectors = torch.linalg.eigh(cov)
    filters = (vectors.t() / torch.sqrt(values + WHITEN_EPS).view(-1, 1)).float()
    filters = filters.view(12, 3, 2, 2)
    with torch.no_grad():
        conv.weight.copy_(torch.cat((filters, -filters)))
    conv.weight.requires_grad = False


# ---- training ------------------------------------------------------------

def optimizer_for(net):
    bn_biases = [m.bias for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    ids = {id(p) for p in bn_biases}
    others = [p for p in net.parameters() if p.requires_grad and id(p) not in ids]
    lr_bn = LR * BN_LR_MULT
    groups = [dict(params=bn_biases, lr=lr_bn, weight_decay=DECAY / lr_bn),
              dict(params=others, lr=LR, weight_decay=DECAY / LR)]
    return torch.optim.SGD(groups, momentum=MOMENTUM, nesterov=True)


def lr_factor(step, total):
    warm = int(total * WARMUP_FRACTION)
    if step < warm:
        return 0.2 + 0.8 * step / warm
    return 1.0 + (0.07 - 1.0) * (step - warm) / max(1, total - warm)


class Lookahead:
    """Every few steps the weights become an average of themselves."""

    def __init__(self, net):
        self.avg = {k: v.detach().clone() for k, v in net.state_dict().items()
                    if v.dtype.is_floating_point}

    def update(self, net, decay):
        with torch.no_grad():
            for k, v in net.state_dict().items():
                if k in self.avg:
                    self.avg[k].lerp_(v, 1 - decay)
                    v.copy_(self.avg[k])


def tta_logits(net, x):
    """0.5 (x and its mirror averaged) + 0.25 + 0.25 (the same, translated by one
    pixel up-left and down-right with reflect padding)."""
    def mirrored(v):
        return 0.5 * (net(v) + net(v.flip(-1)))
    padded = F.pad(x, (1,) * 4, mode="reflect")
    h, w = x.shape[-2:]
    shifted = 0.5 * (mirrored(padded[:, :, 0:h, 0:w]) + mirrored(padded[:, :, 2:h + 2, 2:w + 2]))
    return 0.5 * mirrored(x) + 0.5 * shifted


def evaluate(net, x, y, tta):
    net.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), 2000):
            logits = tta_logits(net, x[i:i + 2000]) if tta else net(x[i:i + 2000])
            loss += F.cross_entropy(logits, y[i:i + 2000], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + 2000]).sum().item()
    return correct / len(x), loss / len(x)


def train(args, data):
    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    x_train, y_train = data["train"]
    x_test, y_test = data["test"]
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    if args.test_limit:
        x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]
    x_all, x_test = normalise(x_train), normalise(x_test)
    net = Net()
    init_whitening(net.whiten, normalise(data["train"][0][:WHITEN_IMAGES]))
    opt = optimizer_for(net)
    criterion = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING, reduction="sum")
    per_epoch = len(x_all) // BATCH
    total = math.ceil(per_epoch * args.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total))
    lookahead = Lookahead(net)
    flips = torch.rand(len(x_all), generator=gen) < 0.5
    base = torch.where(flips.view(-1, 1, 1, 1), x_all.flip(-1), x_all)
    step, train_seconds, curve = 0, 0.0, []
    for epoch in range(math.ceil(total / per_epoch)):
        net.whiten.bias.requires_grad = epoch < WHITEN_BIAS_EPOCHS
        net.train()
        t0 = time.time()
        images = random_translate(base, TRANSLATE, gen)
        if epoch % 2 == 1:
            images = images.flip(-1)
        order = torch.randperm(len(images), generator=gen)
        seen, loss_sum, correct = 0, 0.0, 0
        for b in range(per_epoch):
            if step >= total:
                break
            idx = order[b * BATCH:(b + 1) * BATCH]
            out = net(images[idx])
            loss = criterion(out, y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % LOOKAHEAD_EVERY == 0:
                lookahead.update(net, LOOKAHEAD_BASE * (step / total) ** 3)
            seen += len(idx)
            loss_sum += loss.item()
            correct += (out.argmax(1) == y_train[idx]).sum().item()
        seconds = time.time() - t0
        train_seconds += seconds
        acc, test_loss = evaluate(net, x_test, y_test, tta=False)
        curve.append(dict(epoch=epoch + 1, train_loss=loss_sum / seen, train_accuracy=correct / seen,
                          test_loss=test_loss, test_accuracy=acc, images_per_second=seen / seconds,
                          seconds=seconds))
        print("%5d  %10.4f  %8.2f%%  %9.4f  %7.2f%%  %8.1f  %7.1f" % (
            epoch + 1, loss_sum / seen, 100 * correct / seen, test_loss, 100 * acc, seen / seconds,
            seconds), file=sys.stderr if args.json else sys.stdout, flush=True)
    lookahead.update(net, 1.0)
    acc, test_loss = evaluate(net, x_test, y_test, tta=True)
    return dict(test_accuracy=acc, test_loss=test_loss, train_seconds=train_seconds,
                epochs=curve)


def time_steps(args, data):
    torch.manual_seed(args.seed)
    x = normalise(data["train"][0][:BATCH])
    y = data["train"][1][:BATCH]
    net = Net()
    init_whitening(net.whiten, x)
    opt = optimizer_for(net)
    criterion = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING, reduction="sum")
    net.train()
    times = []
    for i in range(args.steps + 2):
        t0 = time.time()
        loss = criterion(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.time() - t0)
    times.sort()
    return dict(ms_per_step=1000 * times[len(times) // 2], ms_min=1000 * times[0],
                ms_max=1000 * times[-1], batch=BATCH, steps=args.steps)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="look for CIFAR-10 here first")
    p.add_argument("--epochs", type=float, default=EPOCHS)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--test-limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.epochs <= 0 or args.threads < 1 or args.steps < 0:
        p.error("--epochs, --threads must be positive, --steps >= 0")
    torch.set_num_threads(args.threads)
    data = load_cifar10(args.data)
    t0 = time.time()
    result = time_steps(args, data) if args.steps else train(args, data)
    result.update(command=" ".join(["python3"] + sys.argv), device="torch %s CPU, %d threads" % (
        torch.__version__, args.threads), wall_seconds=time.time() - t0)
    if args.json:
        print(json.dumps(result))
    elif args.steps:
        print("%.1f ms per step of %d images (median of %d; %.1f-%.1f)" % (
            result["ms_per_step"], BATCH, args.steps, result["ms_min"], result["ms_max"]))
    else:
        print("test accuracy %.2f%% (loss %.4f) with TTA; %.0f s of training" % (
            100 * result["test_accuracy"], result["test_loss"], result["train_seconds"]))


if __name__ == "__main__":
    main()
