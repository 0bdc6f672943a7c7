"""PyTorch peer of the service's time-to-accuracy benchmark (bench/train/service.ts).

The same training a maas `cnn` job with default hyperparameters runs on the built-in MNIST digits:
the SAME examples and split (exported by bench/train/mnist-split.ts to --data), the same
architecture (conv 5x5 1->16 pad 2 -> relu -> maxpool 2 -> conv 5x5 16->32 pad 2 -> relu ->
maxpool 2 -> flatten -> dense 1568->10), the same init rule (Kaiming-uniform weights
U(+-sqrt(6/fan_in)), biases U(+-1/sqrt(fan_in))), softmax cross-entropy, Adam (0.9, 0.999, 1e-8),
lr 2e-3 with cosine decay to lr/20 over all steps (set before each step from the step count, as
maas does), batch 32 with the last partial batch dropped, a fresh shuffle each epoch, the loss read
back every step, and a validation pass over the held-out split at each epoch end (batches of 512).

Prints one JSON line per epoch on stdout, as soon as it is known, then a summary line:
  {"epoch": 1, "accuracy": 0.973, "loss": 0.09, "elapsed": 41.2, "step_seconds": 38.0, ...}
Threads: torch intra-op = --threads with OPENBLAS_NUM_THREADS=1 (set by the harness).
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

T0 = time.perf_counter()
args = parse_args({"data": "", "epochs": 5, "batch": 32, "lr": 0.002, "eval_batch": 512})


def load(name, dtype):
    return np.fromfile(os.path.join(args.data, name), dtype=dtype)


meta = json.load(open(os.path.join(args.data, "meta.json")))
x = torch.from_numpy(load("inputs.f32", np.float32).reshape(meta["n"], *meta["dims"]))
y = torch.from_numpy(load("targets.i64", np.int64))
train = torch.from_numpy(load("train.i32", np.int32).astype(np.int64))
val = torch.from_numpy(load("validation.i32", np.int32).astype(np.int64))
classes = len(meta["classes"])
c, h, w = meta["dims"]

model = nn.Sequential(
    nn.Conv2d(c, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * (h // 4) * (w // 4), classes),
)
with torch.no_grad():
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.uniform_(-math.sqrt(6 / fan_in), math.sqrt(6 / fan_in))
            m.bias.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
loss_fn = nn.CrossEntropyLoss()
per_epoch = len(train) // args.batch
total = per_epoch * args.epochs
lr_min = args.lr / 20


def lr_at(step):
    p = min(1.0, step / max(1, total))
    return lr_min + 0.5 * (args.lr - lr_min) * (1 + math.cos(math.pi * p))


def validate():
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(val), args.eval_batch):
            idx = val[i : i + args.eval_batch]
            out = model(x[idx])
            loss_sum += loss_fn(out, y[idx]).item() * len(idx)
            correct += (out.argmax(1) == y[idx]).sum().item()
    model.train()
    return correct / len(val), loss_sum / len(val)


gen = torch.Generator().manual_seed(args.seed)
step, step_seconds, step_cpu_seconds, eval_seconds = 0, 0.0, 0.0, 0.0
setup_seconds = time.perf_counter() - T0
for epoch in range(1, args.epochs + 1):
    order = train[torch.randperm(len(train), generator=gen)]
    for i in range(per_epoch):
        s0 = time.perf_counter()
        c0 = time.process_time()
        idx = order[i * args.batch : (i + 1) * args.batch]
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        loss.item()
        step += 1
        step_seconds += time.perf_counter() - s0
        step_cpu_seconds += time.process_time() - c0
    e0 = time.perf_counter()
    accuracy, val_loss = validate()
    eval_seconds += time.perf_counter() - e0
    line = {"epoch": epoch, "step": step, "accuracy": accuracy, "loss": val_loss,
            "elapsed": time.perf_counter() - T0, "step_seconds": step_seconds}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()

sys.stdout.write(json.dumps({
    "done": True, "steps": step, "setup_seconds": setup_seconds, "step_seconds": step_seconds,
    "step_cpu_seconds": step_cpu_seconds, "eval_seconds": eval_seconds, "threads": torch.get_num_threads(),
    "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    "version": "torch " + torch.__version__,
}) + "\n")
