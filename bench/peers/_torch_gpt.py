"""The small GPT shared by the train and generation peers: token + learned position embeddings,
pre-LayerNorm blocks (causal multi-head self-attention, then a 4x GELU MLP), final LayerNorm, an
untied head. Attention is written out (torch 1.13 has no fused scaled_dot_product_attention).
forward() takes an optional per-layer KV cache so generation can cost one token per step."""

import math

import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)

    def forward(self, x, cache=None):
        b, t, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, dh).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        total = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(dh)
        # Query i (absolute position total - t + i) may see keys 0..its own position.
        mask = torch.ones(t, total, dtype=torch.bool).tril(diagonal=total - t)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab, d, heads, layers, context):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)
        for name, p in self.named_parameters():
            # GPT-2's scheme: N(0, 0.02) matrices and embeddings, zero biases, LayerNorm 1 / 0.
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("weight"):
                nn.init.ones_(p)
            else:
                nn.init.zeros_(p)

    def forward(self, tokens, caches=None, start=0):
        t = tokens.shape[1]
        x = self.tok(tokens) + self.pos(torch.arange(start, start + t))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.head(self.ln(x))


def forward_flops(tokens, context, d, layers, vocab):
    """Matmul FLOPs of one forward over `tokens` tokens each attending over `context` positions:
    per layer 24 d^2 per token (qkv 6d^2, proj 2d^2, MLP 16d^2) + 4 context d (QK^T and AV)."""
    return tokens * (layers * (24 * d * d + 4 * context * d) + 2 * d * vocab)
