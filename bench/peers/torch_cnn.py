"""PyTorch peer: CNN conv 1->16 (3x3, pad 1) -> relu -> maxpool 2 -> conv 16->32 -> relu -> maxpool 2
-> dense 64 -> relu -> dense 10, softmax cross-entropy, Adam; 28x28 single-channel input, NCHW."""

import torch
from torch import nn

from _torch_common import conv_flops, emit, init_glorot_, linear_flops, measure, parse_args

args = parse_args({"batch": 32, "size": 28, "c1": 16, "c2": 32, "dense": 64, "classes": 10, "lr": 0.001})
s = args.size
flat = args.c2 * (s // 4) * (s // 4)
model = nn.Sequential(
    nn.Conv2d(1, args.c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(args.c1, args.c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(flat, args.dense), nn.ReLU(), nn.Linear(args.dense, args.classes),
)
init_glorot_(model)
opt = torch.optim.Adam(model.parameters(), lr=args.lr)
x = torch.rand(args.batch, 1, s, s)
y = torch.randint(0, args.classes, (args.batch,))
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


flops = (conv_flops(args.batch, 1, args.c1, 3, s, s) + conv_flops(args.batch, args.c1, args.c2, 3, s // 2, s // 2)
         + linear_flops(args.batch, flat, args.dense) + linear_flops(args.batch, args.dense, args.classes))
emit(measure(step, args), args, args.batch, flops, model="cnn", optimizer="adam")
