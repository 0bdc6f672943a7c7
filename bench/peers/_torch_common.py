"""Shared plumbing for the PyTorch peers: arguments, thread settings, the timing loop, the JSON line.

Every peer prints exactly ONE JSON line on stdout (the harness parses the last line), so diagnostics
go to stderr. Threads: torch intra-op = --threads (2 on this machine) with OPENBLAS_NUM_THREADS=1,
set by the harness, so torch's pool and OpenBLAS's pool do not oversubscribe the two cores.
"""

import argparse
import json
import os
import sys
import time

import torch


def parse_args(defaults):
    """defaults: {name: default}; each becomes --name (underscores kept) typed like its default."""
    p = argparse.ArgumentParser()
    # `model` names the benchmark row (the maas contender dispatches on it); peers ignore it.
    base = {"threads": 2, "warmup": 5, "min_seconds": 2.0, "min_steps": 5, "seed": 0, "model": ""}
    for name, value in {**base, **defaults}.items():
        p.add_argument("--" + name, type=type(value), default=value)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    return args


def init_glorot_(module):
    """The shared init scheme of the train benchmarks: Glorot-uniform weights (fan_in + fan_out, as
    TF.js's default), zero biases. tfjs and maas use the same, so loss_first is comparable."""
    for name, param in module.named_parameters():
        if param.dim() >= 2:
            torch.nn.init.xavier_uniform_(param)
        else:
            torch.nn.init.zeros_(param)


def measure(step, args):
    """Runs `warmup` untimed steps, then timed steps until both min_steps and min_seconds are met.
    step() does one full train step and returns the loss as a Python float (which also syncs)."""
    loss_first = step()
    for _ in range(max(0, args.warmup - 1)):
        step()
    steps = 0
    t0 = time.perf_counter()
    cpu0 = time.process_time()  # all threads of the process, as Node's process.cpuUsage()
    while True:
        loss_last = step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if steps >= args.min_steps and elapsed >= args.min_seconds:
            break
    cpu_ms = (time.process_time() - cpu0) * 1000 / steps
    return {"steps": steps, "seconds": elapsed, "loss_first": loss_first, "loss_last": loss_last,
            "cpu_ms_per_step": cpu_ms}


def linear_flops(batch, fan_in, fan_out):
    """Multiply-adds of one dense layer forward, counted as 2 FLOPs each."""
    return 2 * batch * fan_in * fan_out


def conv_flops(batch, c_in, c_out, k, h_out, w_out):
    return 2 * batch * c_in * c_out * k * k * h_out * w_out


def emit(result, args, batch, flops_forward, tokens_per_sample=0, **extra):
    """Prints the one JSON line. flops_per_step uses the forward x 3 rule (backward ~ 2 x forward;
    elementwise ops and the optimizer update are not counted)."""
    steps_per_s = result["steps"] / result["seconds"]
    line = {
        "steps_per_s": steps_per_s,
        "samples_per_s": steps_per_s * batch,
        "loss_first": result["loss_first"],
        "loss_last": result["loss_last"],
        "flops_per_step": 3 * flops_forward,
        **({"tokens_per_s": steps_per_s * batch * tokens_per_sample} if tokens_per_sample else {}),
        "steps": result["steps"],
        "seconds": result["seconds"],
        "cpu_ms_per_step": result["cpu_ms_per_step"],
        "threads": torch.get_num_threads(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "version": "torch " + torch.__version__,
        **extra,
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
