"""PyTorch peer: small GPT train step (4 layers, d 128, 4 heads, context 64, vocab 65), next-token
cross-entropy, AdamW; one fixed batch of random tokens (memorised, so the loss falls)."""

import torch
from torch.nn import functional as F

from _torch_common import emit, measure, parse_args
from _torch_gpt import Gpt, forward_flops

args = parse_args({"batch": 16, "context": 64, "vocab": 65, "d": 128, "heads": 4, "layers": 4,
                   "lr": 0.001, "weight_decay": 0.01})
model = Gpt(args.vocab, args.d, args.heads, args.layers, args.context)
opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
data = torch.randint(0, args.vocab, (args.batch, args.context + 1))
x, y = data[:, :-1], data[:, 1:]


def step():
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x).reshape(-1, args.vocab), y.reshape(-1))
    loss.backward()
    opt.step()
    return loss.item()


flops = forward_flops(args.batch * args.context, args.context, args.d, args.layers, args.vocab)
emit(measure(step, args), args, args.batch, flops, tokens_per_sample=args.context, model="gpt",
     optimizer="adamw")
