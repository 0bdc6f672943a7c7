"""PyTorch side of bench/train/step-profile.ts: the train step of the service's `cnn` model (or a
variant of it) on the exported MNIST split, timed the way torch_mnist_time.py's loop runs it.

Model: [conv k x k (pad k//2) -> relu -> maxpool 2] per entry of --channels, then an optional dense
--hidden -> relu, then dense -> classes. Kaiming-uniform init as torch_mnist_time.py, Adam, batch 32,
a fresh shuffle, the loss read back every step, the lr set before each step.

Prints one JSON line: {"steps": ..., "seconds": ..., "steps_per_s": ..., "batch_ms": ..., "step_ms": ...,
"params": ...}. batch_ms: indexing the batch out of the dataset; step_ms: zero_grad, forward,
backward, Adam, loss.item().
"""

import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from _torch_common import parse_args

args = parse_args({"data": "", "batch": 32, "lr": 0.002, "kernel": 5, "channels": "16,32", "hidden": 0,
                   "seconds": 3.0})


def load(name, dtype):
    return np.fromfile(os.path.join(args.data, name), dtype=dtype)


meta = json.load(open(os.path.join(args.data, "meta.json")))
x = torch.from_numpy(load("inputs.f32", np.float32).reshape(meta["n"], *meta["dims"]))
y = torch.from_numpy(load("targets.i64", np.int64))
train = torch.from_numpy(load("train.i32", np.int32).astype(np.int64))
c, h, w = meta["dims"]

layers, ch, hh, ww = [], c, h, w
for out in [int(v) for v in args.channels.split(",")]:
    layers += [nn.Conv2d(ch, out, args.kernel, padding=args.kernel // 2), nn.ReLU(), nn.MaxPool2d(2)]
    ch, hh, ww = out, hh // 2, ww // 2
layers.append(nn.Flatten())
features = ch * hh * ww
if args.hidden > 0:
    layers += [nn.Linear(features, args.hidden), nn.ReLU()]
    features = args.hidden
layers.append(nn.Linear(features, len(meta["classes"])))
model = nn.Sequential(*layers)
with torch.no_grad():
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.uniform_(-math.sqrt(6 / fan_in), math.sqrt(6 / fan_in))
            m.bias.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

opt = torch.optim.Adam(model.parameters(), lr=args.lr)
loss_fn = nn.CrossEntropyLoss()
gen = torch.Generator().manual_seed(args.seed)
order = train[torch.randperm(len(train), generator=gen)]
per_epoch = len(order) // args.batch


def run(i):
    """One step of the service loop; returns (batch seconds, step seconds)."""
    t0 = time.perf_counter()
    j = i % per_epoch
    idx = order[j * args.batch : (j + 1) * args.batch]
    xb, yb = x[idx], y[idx]
    t1 = time.perf_counter()
    for group in opt.param_groups:
        group["lr"] = args.lr
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(xb), yb)
    loss.backward()
    opt.step()
    loss.item()
    return t1 - t0, time.perf_counter() - t1


for i in range(args.warmup):
    run(i)
steps, batch_s, step_s = 0, 0.0, 0.0
t0 = time.perf_counter()
cpu0 = time.process_time()
while steps < args.min_steps or time.perf_counter() - t0 < args.seconds:
    b, s = run(args.warmup + steps)
    batch_s += b
    step_s += s
    steps += 1
seconds = time.perf_counter() - t0
cpu_ms = 1000 * (time.process_time() - cpu0) / steps
sys.stdout.write(json.dumps({
    "steps": steps, "seconds": seconds, "steps_per_s": steps / seconds,
    "batch_ms": 1000 * batch_s / steps, "step_ms": 1000 * step_s / steps, "cpu_ms": cpu_ms,
    "params": sum(p.numel() for p in model.parameters()), "version": "torch " + torch.__version__,
}) + "\n")
