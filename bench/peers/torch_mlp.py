"""PyTorch peer: MLP 784-256-256-10, ReLU, softmax cross-entropy, SGD; one fixed synthetic batch
(uniform pixels, random labels) so the loss must fall if the step really trains."""

import torch
from torch import nn

from _torch_common import emit, init_glorot_, linear_flops, measure, parse_args

args = parse_args({"batch": 64, "inputs": 784, "hidden": 256, "classes": 10, "lr": 0.05})
model = nn.Sequential(
    nn.Linear(args.inputs, args.hidden), nn.ReLU(),
    nn.Linear(args.hidden, args.hidden), nn.ReLU(),
    nn.Linear(args.hidden, args.classes),
)
init_glorot_(model)
opt = torch.optim.SGD(model.parameters(), lr=args.lr)
x = torch.rand(args.batch, args.inputs)
y = torch.randint(0, args.classes, (args.batch,))
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


flops = (linear_flops(args.batch, args.inputs, args.hidden) + linear_flops(args.batch, args.hidden, args.hidden)
         + linear_flops(args.batch, args.hidden, args.classes))
emit(measure(step, args), args, args.batch, flops, model="mlp", optimizer="sgd")
