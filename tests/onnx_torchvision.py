#!/usr/bin/env python3
"""Torchvision models through ONNX into clnet, against PyTorch.

usage: onnx_torchvision.py CLNET_BENCH WORKDIR [--devices D,D] [--models M:SIZE:OPSET,...]
       [--native] [--table]

Each model is built with seeded random weights and batch-norm running
statistics that are not the identity, exported with torch.onnx.export
(dynamic batch axis on every other model), run by PyTorch on a fixed input
and by `clnet-bench infer` on each device; the error is the L2 norm of the
difference over the L2 norm of PyTorch's output and must stay below 1e-4.
Exit 0 when every model matches, 1 otherwise, 77 (skip) when PyTorch,
torchvision or onnx is missing and neither CI nor CLNET_TEST_REQUIRE_DEVICE
is set. --native runs every torchvision 0.14 classification model at its own
input size instead, on one image (bench/onnx_torchvision.sh); --table
prints a Markdown table of errors and times.
"""
import argparse
import os
import subprocess
import sys
import time

TOLERANCE = 1e-4

# One model per family at a small input (Inception v3 needs 75x75), opsets
# 11 to 17 spread over them. Wide ResNet is left to the benchmark: it is
# ResNet-50's layers, wider, and its 69 million weights take minutes here.
SMALL = [
    ('resnet18', 64, 11), ('resnext50_32x4d', 32, 12),
    ('vgg11_bn', 32, 14), ('alexnet', 127, 15), ('squeezenet1_0', 64, 16),
    ('densenet121', 64, 17), ('googlenet', 64, 13), ('inception_v3', 75, 12),
    ('mobilenet_v2', 64, 13), ('mobilenet_v3_small', 64, 14), ('mnasnet0_5', 64, 11),
    ('shufflenet_v2_x0_5', 64, 13), ('efficientnet_b0', 64, 15),
    ('regnet_y_400mf', 64, 17),
]

# Every classification model of torchvision 0.14, at its native input.
NATIVE = [
    'alexnet', 'vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19',
    'vgg19_bn', 'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152',
    'resnext50_32x4d', 'resnext101_32x8d', 'resnext101_64x4d', 'wide_resnet50_2',
    'wide_resnet101_2', 'squeezenet1_0', 'squeezenet1_1', 'densenet121', 'densenet161',
    'densenet169', 'densenet201', 'googlenet', 'inception_v3', 'mobilenet_v2',
    'mobilenet_v3_small', 'mobilenet_v3_large', 'mnasnet0_5', 'mnasnet0_75', 'mnasnet1_0',
    'mnasnet1_3', 'shufflenet_v2_x0_5', 'shufflenet_v2_x1_0', 'shufflenet_v2_x1_5',
    'shufflenet_v2_x2_0', 'efficientnet_b0', 'efficientnet_b1', 'efficientnet_b2',
    'efficientnet_b3', 'efficientnet_b4', 'efficientnet_b5', 'efficientnet_b6',
    'efficientnet_b7', 'efficientnet_v2_s', 'efficientnet_v2_m', 'efficientnet_v2_l',
    'regnet_y_400mf', 'regnet_y_800mf', 'regnet_y_1_6gf', 'regnet_y_3_2gf', 'regnet_y_8gf',
    'regnet_y_16gf', 'regnet_y_32gf', 'regnet_y_128gf', 'regnet_x_400mf', 'regnet_x_800mf',
    'regnet_x_1_6gf', 'regnet_x_3_2gf', 'regnet_x_8gf', 'regnet_x_16gf', 'regnet_x_32gf',
]

NATIVE_SIZE = {'inception_v3': 299, 'efficientnet_b1': 240, 'efficientnet_b2': 288,
               'efficientnet_b3': 300, 'efficientnet_b4': 380, 'efficientnet_b5': 456,
               'efficientnet_b6': 528, 'efficientnet_b7': 600, 'efficientnet_v2_s': 384,
               'efficientnet_v2_m': 480, 'efficientnet_v2_l': 480}


# Zoo models exported by `clnet-bench export` and checked by onnx.checker
# (their numerical round trip is test_onnx's); None: the cfg's own input.
EXPORT_CHECK = [('lenet5', None), ('nin', 64), ('resnet18', 64), ('resnet20', None),
                ('mobilenet_v2', 64), ('efficientnet_b0', 64), ('googlenet', 64),
                ('densenet121', 64), ('squeezenet1_0', 64), ('inception_v3', 75),
                ('airbench94', None)]


def check_exports(args, onnx):
    """Returns the number of zoo models whose export onnx.checker rejects."""
    failed = 0
    for name, size in EXPORT_CHECK:
        path = os.path.join(args.workdir, 'export_%s.onnx' % name)
        cmd = [args.clnet_bench, 'export', '--model', name, '--onnx', path]
        if size:
            cmd += ['--resolution', str(size)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        why = run.stderr.strip()
        if run.returncode == 0:
            try:
                onnx.checker.check_model(onnx.load(path), full_check=True)
            except Exception as e:
                why = 'onnx.checker: %s' % str(e).splitlines()[0]
        ok = run.returncode == 0 and not why
        failed += not ok
        print('export %-16s %s %s' % (name, 'onnx.checker ok' if ok else 'FAILED', why))
        if os.path.exists(path):
            os.remove(path)
    return failed


def handmade_models(torch):
    """Small graphs for what torchvision's models do not export: each a
    module, its input size, and None (must match PyTorch) or words the
    import error must contain."""
    nn, F = torch.nn, torch.nn.functional

    class Lambda(nn.Module):
        def __init__(self, fn, *layers):
            super().__init__()
            self.fn, self.layers = fn, nn.ModuleList(layers)

        def forward(self, x):
            return self.fn(x, *self.layers)

    torch.manual_seed(3)
    conv, pool = nn.Conv2d(3, 4, 3), nn.AvgPool2d(3, stride=2)
    w, b = nn.Parameter(torch.randn(3 * 6 * 6, 5)), nn.Parameter(torch.randn(5))
    head = nn.Module()
    head.w, head.b = w, b
    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
    return [
        ('pad+conv', Lambda(lambda x, c: c(F.pad(x, (1, 2, 0, 1))), conv), None),
        ('pad+avgpool', Lambda(lambda x, p: p(F.pad(x, (1, 1, 1, 1))), pool), None),
        ('matmul+add', Lambda(lambda x, h: torch.flatten(x, 1) @ h.w + h.b, head), None),
        # a scalar on a (N, F) tensor: the scale activation, not a 1x1 conv
        ('flatten/9', Lambda(lambda x, c: torch.flatten(c(x), 1) / 9, conv), None),
        # transforms.Normalize in the graph: the net's own input normalisation
        ('normalize', Lambda(lambda x, c: c((x - mean) / std), conv), None),
        ('reflect pad', Lambda(lambda x, c: c(F.pad(x, (1, 1, 1, 1), mode='reflect')), conv),
         "op type Pad): attribute 'mode' = 'reflect'"),
        ('pad+maxpool', Lambda(lambda x, p: p(F.pad(x, (1, 1, 1, 1))), nn.MaxPool2d(3)),
         'op type MaxPool): input 0'),
        ('transpose', Lambda(lambda x, c: c(x.transpose(2, 3)), conv),
         'op type Transpose): operator Transpose has no clnet layer'),
    ]


def check_handmade(args, torch):
    """Returns the number of hand-made graphs clnet gets wrong on `ref`."""
    import numpy as np
    failed = 0
    for name, model, error in handmade_models(torch):
        path = os.path.join(args.workdir, 'handmade.onnx')
        xin, xout = path + '.x.npy', path + '.y.npy'
        x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(4))
        model.eval()
        with torch.no_grad():
            ref = model(x).numpy()
        torch.onnx.export(model, x, path, opset_version=13, input_names=['input'])
        np.save(xin, x.numpy())
        run = subprocess.run([args.clnet_bench, 'infer', '--onnx', path, '--input', xin,
                              '--output', xout, '--device', 'ref'], capture_output=True, text=True)
        why = run.stderr.strip()
        if error is None and run.returncode == 0:
            y = np.load(xout)
            err = float(np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref))
            ok = y.shape == ref.shape and err <= TOLERANCE
            why = 'error %.2e' % err
        else:
            ok = error is not None and run.returncode != 0 and error in why
        failed += not ok
        print('handmade %-12s %s %s' % (name, 'ok    ' if ok else 'FAILED', why))
    return failed


def required():
    return bool(os.environ.get('CI') or os.environ.get('CLNET_TEST_REQUIRE_DEVICE'))


def small_head(torch, model, size):
    """VGG and AlexNet below their native input: the adaptive pooling to 7x7
    (6x6) exports only from a multiple of that size, and their 100-million
    weight classifiers dominate the test's time; both are replaced by the same
    kinds of layers, narrower."""
    nn = torch.nn
    with torch.no_grad():
        features = model.features(torch.zeros(1, 3, size, size)).numel()
    model.avgpool = nn.Identity()
    model.classifier = nn.Sequential(
        nn.Dropout(), nn.Linear(features, 256), nn.ReLU(inplace=True), nn.Dropout(),
        nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Linear(256, 10))


def build(tv, torch, name, size, native=False):
    torch.manual_seed(0)
    kwargs = {'weights': None}
    if name in ('googlenet', 'inception_v3'):
        kwargs.update(aux_logits=False, init_weights=True)
    model = getattr(tv.models, name)(**kwargs)
    if not native and (name.startswith('vgg') or name == 'alexnet'):
        small_head(torch, model, size)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)):
                c = m.num_features
                m.running_mean.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                m.weight.copy_(1 + 0.2 * torch.randn(c, generator=gen))
                m.bias.copy_(0.2 * torch.randn(c, generator=gen))
    return model.eval()


def check_one(args, torch, tv, name, size, opset, dynamic, devices):
    path = os.path.join(args.workdir, '%s_%d_op%d.onnx' % (name, size, opset))
    xin, xout = path + '.x.npy', path + '.y.npy'
    model = build(tv, torch, name, size, args.native)
    # one image at native sizes: the largest models take minutes per image here
    batch = 1 if args.native else 2
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = model(x).numpy()
    axes = {'input': {0: 'N'}, 'output': {0: 'N'}} if dynamic else None
    torch.onnx.export(model, x, path, opset_version=opset, input_names=['input'],
                      output_names=['output'], dynamic_axes=axes)
    import numpy as np
    np.save(xin, x.numpy())
    results = []
    for dev in devices:
        t = time.time()
        run = subprocess.run([args.clnet_bench, 'infer', '--onnx', path, '--input', xin,
                              '--output', xout, '--device', dev],
                             capture_output=True, text=True)
        secs = time.time() - t
        if run.returncode != 0:
            results.append((dev, None, secs, run.stderr.strip()))
            continue
        y = np.load(xout)
        if y.shape != ref.shape:
            results.append((dev, None, secs, 'shape %s, PyTorch %s' % (y.shape, ref.shape)))
            continue
        err = float(np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref))
        results.append((dev, err, secs, ''))
    for f in (path, xin, xout):
        if os.path.exists(f) and not args.keep:
            os.remove(f)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('clnet_bench')
    ap.add_argument('workdir')
    ap.add_argument('--devices', default='ref,0')
    ap.add_argument('--models', default='')
    ap.add_argument('--native', action='store_true')
    ap.add_argument('--table', action='store_true')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    try:
        import numpy  # noqa: F401
        import onnx
        import torch
        import torchvision as tv
    except ImportError as e:
        print('onnx_torchvision: %s' % e, file=sys.stderr)
        return 1 if required() else 77
    torch.set_num_threads(2)
    os.makedirs(args.workdir, exist_ok=True)
    if args.models:
        cases = []
        for spec in args.models.split(','):
            name, size, opset = spec.split(':')
            cases.append((name, int(size), int(opset)))
    elif args.native:
        cases = [(n, NATIVE_SIZE.get(n, 224), 13) for n in NATIVE]
    else:
        cases = SMALL
    devices = args.devices.split(',')
    failed = 0 if args.native or args.models else check_exports(args, onnx) + check_handmade(
        args, torch)
    if args.table:
        print('| model | input | opset | device | rel. L2 error | clnet-bench infer s |')
        print('|---|---|---|---|---|---|')
    for i, (name, size, opset) in enumerate(cases):
        try:
            results = check_one(args, torch, tv, name, size, opset, i % 2 == 1, devices)
        except Exception as e:  # an export PyTorch itself refuses
            results = [(d, None, 0.0, 'export: %s' % str(e).splitlines()[0]) for d in devices]
        for dev, err, secs, why in results:
            ok = err is not None and err <= TOLERANCE
            failed += not ok
            if args.table:
                print('| %s | %d | %d | %s | %s | %.1f |' % (
                    name, size, opset, dev, '%.2e' % err if err is not None else
                    'FAILED: ' + why.replace('|', '/')[:200], secs))
            else:
                print('%-22s %3d opset %2d %-5s %s %6.1f s %s' % (
                    name, size, opset, dev, '%.2e' % err if err is not None else 'FAILED  ',
                    secs, '' if ok else why or 'error above %g' % TOLERANCE))
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
