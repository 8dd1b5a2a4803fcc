"""python -m bench all|train|generate|ppl|data: speed ratios measured side by side in one process.

Prints a Markdown table (ratios ours/published, ours/trainer, generation speed-up) and writes the same figures
as JSON. Defaults fit 2 CPU cores in a few minutes; on a GPU pass --model gpt2 --compile.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import os
import platform
import tempfile
from collections import Counter
from pathlib import Path

import torch

from gpt2ft.assets import gpt2_tokenizer, tiny_gpt2
from gpt2ft.codec import make_codec
from gpt2ft.files import atomic_write_json
from gpt2ft.lyrics import continuation_sample, english_songs, lyrics_document, read_lyrics_rows
from gpt2ft.modeling import load_model, load_tokenizer, pick_runtime

from .data import data_report
from .evaluation import bench_generation, bench_perplexity
from .training import bench_training

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "lyrics-data.csv"
TINY = dict(block_size=64, n_positions=128, n_embd=32, n_layer=2, n_head=2, steps=1, repetitions=1, prompts=4,
            max_new_tokens=4, copies=4, batch_size=2)


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("section", choices=["all", "train", "generate", "ppl", "data"])
    parser.add_argument("--model", default=None, help="hub id or folder (default: a random GPT-2 of the size below)")
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--n-positions", type=int, default=1024)
    parser.add_argument("--data", default=str(SAMPLE), help="lyrics CSV for every section")
    parser.add_argument("--copies", type=int, default=32,
                        help="repeat the songs this many times (training and data report; 1 for a real corpus)")
    parser.add_argument("--block-size", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=1, help="optimizer steps per timed repetition")
    parser.add_argument("--repetitions", type=int, default=3, help="interleaved repetitions (median reported)")
    parser.add_argument("--prompts", type=int, default=80)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--generation-batch-size", type=int, default=16)
    parser.add_argument("--compile", action="store_true", help="torch.compile our model (CUDA)")
    parser.add_argument("--output", default="results/bench.json", help="JSON file (histogram PNG beside it)")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (used by the tests)")
    args = parser.parse_args(argv)
    if args.tiny:
        for key, value in TINY.items():
            setattr(args, key, value)
    return args


def prepare_model(args) -> str:
    """The model folder or hub id to benchmark; a random GPT-2 of the requested size by default."""
    if args.model:
        return args.model
    folder = Path(tempfile.mkdtemp(prefix="bench-model-"))
    return str(tiny_gpt2(folder / "model", gpt2_tokenizer(folder / "tokenizer"), n_positions=args.n_positions,
                         n_embd=args.n_embd, n_layer=args.n_layer, n_head=args.n_head))


def cycle(items: list, n: int) -> list:
    return list(itertools.islice(itertools.cycle(items), n))


def main(argv=None) -> dict:
    args = parse(argv)
    runtime = pick_runtime()
    torch.manual_seed(0)
    model_name = prepare_model(args)
    tokenizer = load_tokenizer(model_name)
    codec = make_codec(tokenizer)
    rows, _ = read_lyrics_rows(args.data)
    songs = english_songs(rows, Counter())
    documents = [lyrics_document(s) for s in songs]
    docs = codec.encode_batch(documents)
    machine = (torch.cuda.get_device_name(runtime.device) if runtime.device.type == "cuda"
               else f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores")
    results: dict = {"machine": machine, "model": model_name, "block_size": args.block_size,
                     "batch_size": args.batch_size, "corpus": args.data}
    run = {args.section} if args.section != "all" else {"data", "train", "generate", "ppl"}
    if "data" in run:
        png = Path(args.output).with_name(Path(args.output).stem + "_lengths.png")
        results["data"] = data_report(docs * args.copies, codec.eos_id, args.block_size, png)
        results["data"]["copies"] = args.copies
    if "train" in run:
        results["train"] = bench_training(lambda: load_model(model_name, runtime), tokenizer, docs * args.copies,
                                          args.block_size, args.batch_size, args.steps, args.repetitions, runtime,
                                          args.compile)
    gc.collect()
    if "generate" in run:
        prompts = cycle([s.input for s in map(continuation_sample, songs) if s], args.prompts)
        results["generate"] = bench_generation(load_model(model_name, runtime), tokenizer, prompts,
                                               args.max_new_tokens, args.generation_batch_size, args.repetitions,
                                               runtime)
    if "ppl" in run:
        results["ppl"] = bench_perplexity(load_model(model_name, runtime), tokenizer, cycle(documents, 80), 8,
                                          args.repetitions, runtime)
    if "data" in results and "train" in results:
        results["epoch_minutes"] = epoch_minutes(results)
    results["ratios"] = ratios(results)
    print(markdown(results))
    atomic_write_json(results, args.output)
    print(f"\nwritten to {args.output}")
    return results


def epoch_minutes(results: dict) -> dict:
    """Predicted time of one epoch over the data-report corpus for each layout at the measured speeds."""
    data, train = results["data"], results["train"]
    positions = {"published": data["documents"] * data["block_size"],
                 "trainer": data["tokens"] // data["block_size"] * data["block_size"],
                 "ours": data["packed_blocks"] * data["block_size"]}
    return {name: positions[name] / train[name]["positions_per_s"] / 60 for name in positions}


def ratios(results: dict) -> dict:
    out = {}
    if "train" in results:
        train = results["train"]
        out["ours/published"] = train["ours"]["useful_tokens_per_s"] / train["published"]["useful_tokens_per_s"]
        out["ours/trainer"] = train["ours"]["useful_tokens_per_s"] / train["trainer"]["useful_tokens_per_s"]
    if "generate" in results:
        gen = results["generate"]
        out["generation speed-up"] = gen["ours"]["prompts_per_s"] / gen["published"]["prompts_per_s"]
    if "ppl" in results:
        out["perplexity speed-up"] = results["ppl"]["ours"]["tokens_per_s"] / results["ppl"]["loop"]["tokens_per_s"]
    return out


def _fmt(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def markdown(results: dict) -> str:
    """All sections as Markdown tables, ratios last."""
    lines = [f"Machine: {results['machine']} · model `{results['model']}` · block {results['block_size']} · "
             f"batch {results['batch_size']}", ""]
    if "data" in results:
        d = results["data"]
        lines += [f"| Data (the songs repeated {d['copies']} times) | value |", "|---|---|",
                  f"| documents / tokens | {d['documents']:,} / {d['tokens']:,} |",
                  f"| document length min / median / mean / max | {d['length_min']} / {d['length_median']} / "
                  f"{d['length_mean']:.0f} / {d['length_max']} |",
                  f"| useful-token ratio: packed (ours) | {d['packed_useful_ratio']:.4f} |",
                  f"| useful-token ratio: one document per padded row | {d['padded_useful_ratio']:.4f} |",
                  f"| useful-token ratio: published (truncate + pad) | {d['published_useful_ratio']:.4f} |", ""]
    if "train" in results:
        t = results["train"]
        names = ["published", "trainer", "ours"]
        lines += ["| Training | " + " | ".join(names) + " |", "|---|---|---|---|"]
        for key, label, spec in (("useful_tokens_per_s", "useful tokens/s", ",.0f"),
                                 ("positions_per_s", "positions/s", ",.0f"),
                                 ("useful_token_ratio", "useful-token ratio", ".4f"),
                                 ("peak_memory_mib", "peak memory (MiB)", ",.0f"), ("mfu", "MFU", ".3f")):
            lines.append(f"| {label} | " + " | ".join(_fmt(t[n][key], spec) for n in names) + " |")
        if "epoch_minutes" in results:
            lines.append("| one epoch of the data-report corpus (min) | " +
                         " | ".join(f"{results['epoch_minutes'][n]:.1f}" for n in names) + " |")
        lines.append("")
    if "generate" in results:
        g = results["generate"]
        lines += ["| Generation (80 prompts) | published (pipeline, one by one) | ours (batched, KV cache) |",
                  "|---|---|---|",
                  f"| prompts/s | {g['published']['prompts_per_s']:.2f} | {g['ours']['prompts_per_s']:.2f} |", ""]
    if "ppl" in results:
        p = results["ppl"]
        lines += ["| Perplexity | one text at a time | ours (batched) |", "|---|---|---|",
                  f"| tokens/s | {p['loop']['tokens_per_s']:,.0f} | {p['ours']['tokens_per_s']:,.0f} |",
                  f"| PPL | {p['loop']['ppl']:.4f} | {p['ours']['ppl']:.4f} |", ""]
    lines += ["| Ratio | value |", "|---|---|"]
    lines += [f"| {name} | {value:.2f}x |" for name, value in results["ratios"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
