"""The whole English pipeline offline on CPU in a few minutes: fine-tune, generate, both evals, the results table.

Uses a tiny randomly initialised GPT-2 (real GPT-2 tokenizer) as the "original" model and the demo corpus in
data/sample/ (original lyrics written for this project). The numbers only show that the pipeline works.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import eval_bertScore
import eval_ppl
import finetune
import generate
from gpt2ft.assets import english_encoder, gpt2_tokenizer, tiny_gpt2
from gpt2ft.cli import run_main

SAMPLE_CSV = Path(__file__).resolve().parent / "data" / "sample" / "lyrics-data.csv"


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--output-dir", default="output/demo", help="where every artefact of the demo goes")
    parser.add_argument("--epochs", type=int, default=40, help="passes over the demo corpus")
    args = parser.parse_args(argv)
    out = Path(args.output_dir)
    data = ["--data", str(SAMPLE_CSV), "--test-rows", "8"]

    print("== building a tiny random GPT-2 with the real GPT-2 tokenizer (the 'original' model)")
    original = str(tiny_gpt2(out / "original", gpt2_tokenizer(out / "gpt2-tokenizer")))
    finetuned = str(out / "finetuned")

    print("\n== finetune.py")
    finetune.main(["--model", original, "--output-dir", finetuned, *data, "--block-size", "128",
                   "--batch-size", "4", "--lr", "2e-3", "--epochs", str(args.epochs), "--warmup-ratio", "0.05",
                   "--eval-interval", "30", "--log-interval", "10", "--save-interval", "60"])

    print("\n== generate.py --title 'Paper Lanterns'")
    generate.main(["--model", finetuned, "--title", "Paper Lanterns", "--max-new-tokens", "60"])

    results = str(out / "results.json")
    compare = ["--original", original, "--finetuned", finetuned, "--results", results, *data]
    print("\n== eval_ppl.py")
    eval_ppl.main(compare)
    print("\n== eval_bertScore.py (scorer: all-MiniLM-L6-v2, layer 6)")
    table = eval_bertScore.main([*compare, "--bertscore-model", str(english_encoder()), "--num-layers", "6"])
    print("\nDemo data and a tiny random model: these numbers only show that the pipeline runs end to end.")
    return table


if __name__ == "__main__":
    run_main(main)
