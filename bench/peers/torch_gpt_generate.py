"""PyTorch peer: greedy generation with the small GPT at batch 1, --cache 1 (KV cache: one token per
step) or --cache 0 (re-run the whole sequence for every new token). One 'step' is one whole
generation of --new_tokens tokens after a --prompt token prompt. Weights are random (seeded), so the
token sequence is arbitrary but deterministic; it is hashed so cache and no-cache runs can be
compared (they must match)."""

import hashlib

import torch

from _torch_common import emit, measure, parse_args
from _torch_gpt import Gpt, forward_flops

args = parse_args({"cache": 1, "prompt": 8, "new_tokens": 56, "context": 64, "vocab": 65, "d": 128,
                   "heads": 4, "layers": 4})
assert args.prompt + args.new_tokens <= args.context, "prompt + new_tokens must fit the context"
model = Gpt(args.vocab, args.d, args.heads, args.layers, args.context).eval()
prompt = torch.randint(0, args.vocab, (1, args.prompt))
generated = []


@torch.inference_mode()
def generate():
    tokens = prompt
    if args.cache:
        caches = [{} for _ in range(args.layers)]
        logits = model(tokens, caches)
        for _ in range(args.new_tokens):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, nxt], dim=1)
            logits = model(nxt, caches, start=tokens.shape[1] - 1)
    else:
        for _ in range(args.new_tokens):
            nxt = model(tokens)[:, -1].argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, nxt], dim=1)
    generated[:] = tokens[0].tolist()
    return 0.0


def generation_flops():
    """Sum over generated tokens of the forward FLOPs that token costs with or without the cache."""
    total = 0
    for i in range(args.new_tokens):
        length = args.prompt + i
        if args.cache:
            total += forward_flops(args.prompt if i == 0 else 1, length, args.d, args.layers, args.vocab)
        else:
            total += forward_flops(length, length, args.d, args.layers, args.vocab)
    return total


result = measure(generate, args)
digest = hashlib.sha256(str(generated).encode()).hexdigest()[:16]
# flops_forward / 3 because emit applies the train x3 rule; generation is forward only.
emit(result, args, 1, generation_flops() / 3, tokens_per_sample=args.new_tokens, model="gpt-generate",
     cache=bool(args.cache), tokens_digest=digest)
