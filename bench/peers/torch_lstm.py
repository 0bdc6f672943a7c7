"""PyTorch peer: LSTM language model. Embedding(vocab, embed) -> one LSTM layer (hidden) -> dense to
vocab, next-token cross-entropy over every position, Adam. One fixed batch of random tokens (the
target is the input shifted by one), so the loss falls only by memorising: enough to prove training."""

import torch
from torch import nn

from _torch_common import emit, init_glorot_, linear_flops, measure, parse_args

args = parse_args({"batch": 32, "seq": 64, "vocab": 65, "embed": 64, "hidden": 256, "lr": 0.002})


class LstmLm(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(args.vocab, args.embed)
        self.lstm = nn.LSTM(args.embed, args.hidden, batch_first=True)
        self.head = nn.Linear(args.hidden, args.vocab)

    def forward(self, tokens):
        h, _ = self.lstm(self.embed(tokens))
        return self.head(h)


model = LstmLm()
init_glorot_(model)
opt = torch.optim.Adam(model.parameters(), lr=args.lr)
data = torch.randint(0, args.vocab, (args.batch, args.seq + 1))
x, y = data[:, :-1], data[:, 1:]
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x).reshape(-1, args.vocab), y.reshape(-1))
    loss.backward()
    opt.step()
    return loss.item()


tokens = args.batch * args.seq
# Per time step the four gates are one [embed + hidden] x [4 hidden] product; the embedding is a gather (0 FLOPs).
flops = linear_flops(tokens, args.embed + args.hidden, 4 * args.hidden) + linear_flops(tokens, args.hidden, args.vocab)
emit(measure(step, args), args, args.batch, flops, model="lstm-lm", optimizer="adam",
     tokens_per_sample=args.seq)
