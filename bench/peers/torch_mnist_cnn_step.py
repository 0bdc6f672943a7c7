"""PyTorch peer of bench/train/imported-step.ts: the MNIST CNN of the fine-tuning tests (conv 5x5 x8 ->
relu -> maxpool 2 -> conv 5x5 x16 -> relu -> maxpool 2 -> flatten -> dense 256->10), softmax
cross-entropy, Adam lr 1e-3, batch 32, every layer trained, 28x28 single-channel input, NCHW.
Besides the shared JSON line it reports CPU ms per timed step (`cpu_ms_per_step`, process time:
the fair figure on a loaded machine, as the maas rows report theirs)."""

import argparse
import time

import torch
from torch import nn

from _torch_common import conv_flops, emit, init_glorot_, linear_flops, measure, parse_args

args = parse_args({"batch": 32, "lr": 0.001})
model = nn.Sequential(
    nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(256, 10),
)
init_glorot_(model)
opt = torch.optim.Adam(model.parameters(), lr=args.lr)
x = torch.rand(args.batch, 1, 28, 28)
y = torch.randint(0, 10, (args.batch,))
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


flops = conv_flops(args.batch, 1, 8, 5, 24, 24) + conv_flops(args.batch, 8, 16, 5, 8, 8) + linear_flops(args.batch, 256, 10)
for _ in range(args.warmup):
    step()
cpu0 = time.process_time()
# Warm-up done above: measure's own first step (its loss_first) is timed in CPU too, hence steps + 1.
result = measure(step, argparse.Namespace(**{**vars(args), "warmup": 0}))
cpu = time.process_time() - cpu0
emit(result, args, args.batch, flops, model="mnist-cnn", optimizer="adam",
     cpu_ms_per_step=1000 * cpu / (result["steps"] + 1))
