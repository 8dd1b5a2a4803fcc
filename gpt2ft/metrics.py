"""Metrics: sliding-window perplexity and next-token accuracy, BERTScore, BLEU-4, ROUGE-L, distinct-n."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .cli import UserError
from .modeling import Runtime
from .tokens import IGNORE_INDEX, pad_batch

LOGIT_CHUNK = {"cuda": 4096}
CPU_LOGIT_CHUNK = 64


@dataclass
class PerplexityResult:
    nll: float
    tokens: int
    correct: int

    @property
    def ppl(self) -> float:
        """exp(total negative log-likelihood / number of predicted tokens)."""
        return math.exp(self.nll / self.tokens)

    @property
    def accuracy(self) -> float:
        return self.correct / self.tokens


def sliding_windows(seq: Sequence[int], window: int, stride: int) -> list[tuple[list[int], list[int]]]:
    """(inputs, targets) windows that together predict every token of seq after the first exactly once.

    Each window sees up to `window` tokens; after the first, each scores only its last `stride` targets,
    the rest serving as context."""
    if not 0 < stride <= window:
        raise ValueError("stride must be in 1..window")
    last = len(seq) - 1
    windows, scored = [], 0
    end = min(window, last)
    while scored < last:
        begin = max(0, end - window)
        inputs = list(seq[begin:end])
        targets = [t if begin + j + 1 > scored else IGNORE_INDEX for j, t in enumerate(seq[begin + 1:end + 1])]
        windows.append((inputs, targets))
        scored = end
        end = min(end + stride, last)
    return windows


@torch.no_grad()
def score_items(model, items: Sequence[tuple], runtime: Runtime, batch_size: int = 8,
                desc: str = "perplexity") -> PerplexityResult:
    """Summed NLL, scored tokens and correct argmax predictions over (inputs, targets, token_types) items.

    Logits are computed only at scored positions, a chunk at a time, so memory stays small and context-only
    positions of sliding windows cost no LM-head work. Chunks are small on CPU, where cache-sized logits are
    faster, and large on GPUs."""
    head = model.get_output_embeddings()
    logit_rows = LOGIT_CHUNK.get(runtime.device.type, CPU_LOGIT_CHUNK)
    items = sorted(items, key=lambda item: -len(item[0]))
    nll = torch.zeros((), dtype=torch.float64, device=runtime.device)
    tokens = torch.zeros((), dtype=torch.long, device=runtime.device)
    correct = torch.zeros((), dtype=torch.long, device=runtime.device)
    model.eval()
    for start in tqdm(range(0, len(items), batch_size), desc=desc, unit="batch"):
        chunk = items[start:start + batch_size]
        batch = pad_batch(chunk, pad_id=0).to(runtime.device)
        mask = torch.zeros_like(batch.inputs)
        for row, item in enumerate(chunk):
            mask[row, :len(item[0])] = 1
        with runtime.autocast():
            hidden = model.base_model(input_ids=batch.inputs, attention_mask=mask,
                                      token_type_ids=batch.token_types).last_hidden_state
            scored = batch.targets != IGNORE_INDEX
            hidden, targets = hidden[scored], batch.targets[scored]
            for begin in range(0, len(targets), logit_rows):
                logits = head(hidden[begin:begin + logit_rows]).float()
                chunk_targets = targets[begin:begin + logit_rows]
                nll += F.cross_entropy(logits, chunk_targets, reduction="sum").double()
                correct += (logits.argmax(-1) == chunk_targets).sum()
        tokens += len(targets)
    if int(tokens) == 0:
        raise UserError("no tokens to score: the test set is empty")
    return PerplexityResult(float(nll), int(tokens), int(correct))


def perplexity(model, sequences: Sequence[Sequence[int]], window: int, stride: int, runtime: Runtime,
               batch_size: int = 8, desc: str = "perplexity") -> PerplexityResult:
    """Token-weighted perplexity and next-token accuracy over all sequences, long ones by sliding window."""
    windows = [(x, y, None) for seq in sequences for x, y in sliding_windows(seq, window, stride)]
    return score_items(model, windows, runtime, batch_size, desc)


def distinct_n(texts: Sequence[str], n: int, tokenizer: Callable[[str], list[str]] | None = None) -> float:
    """Distinct n-grams over all n-grams of all texts, as in Li et al. (2016); words by whitespace by default."""
    split = tokenizer or str.split
    grams = [tuple(words[i:i + n]) for words in map(split, texts) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def bleu(hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "13a", max_order: int = 4) -> float:
    """Corpus BLEU-n (0-100) by sacrebleu; tokenize "zh" or "char" for Chinese."""
    from sacrebleu.metrics import BLEU

    scorer = BLEU(tokenize=tokenize, max_ngram_order=max_order)
    return float(scorer.corpus_score(list(hypotheses), [list(references)]).score)


def rouge_l(hypotheses: Sequence[str], references: Sequence[str],
            tokenizer: Callable[[str], list[str]] | None = None) -> float:
    """Mean ROUGE-L F-measure (0-1) by rouge-score; pass a tokenizer for text without spaces."""
    from rouge_score import rouge_scorer

    class _Tokenizer:
        def tokenize(self, text: str) -> list[str]:
            return tokenizer(text)

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Tokenizer() if tokenizer else None)
    scores = [scorer.score(ref, hyp)["rougeL"].fmeasure for hyp, ref in zip(hypotheses, references)]
    return sum(scores) / len(scores) if scores else 0.0


@dataclass
class BertScoreArgs:
    model_type: str
    num_layers: int | None
    lang: str
    rescale_with_baseline: bool
    idf: bool
    batch_size: int


def bertscore(candidates: Sequence[str], references: Sequence[str], args: BertScoreArgs,
              device: str) -> tuple[list[float], list[float], list[float], str]:
    """Per-pair P, R, F1 and bert-score's hash; pairs with an empty side score 0, as bert-score defines."""
    import bert_score
    from bert_score.utils import model2layers

    num_layers = args.num_layers or model2layers.get(args.model_type)
    if num_layers is None:
        raise UserError(f"--num-layers is required for the BERTScore model '{args.model_type}'")
    keep = [i for i, (c, r) in enumerate(zip(candidates, references)) if c.strip() and r.strip()]
    zeros = [0.0] * len(candidates)
    p, r, f = list(zeros), list(zeros), list(zeros)
    if keep:
        try:
            P, R, F1 = bert_score.score([candidates[i] for i in keep], [references[i] for i in keep],
                                        model_type=args.model_type, num_layers=num_layers, lang=args.lang,
                                        rescale_with_baseline=args.rescale_with_baseline, idf=args.idf,
                                        batch_size=args.batch_size, device=device)
        except OSError as error:
            raise UserError(f"could not load BERTScore model '{args.model_type}': {str(error).splitlines()[0]} "
                            "(offline? pass --bertscore-model with a local folder and --num-layers)") from None
        for j, i in enumerate(keep):
            p[i], r[i], f[i] = float(P[j]), float(R[j]), float(F1[j])
    hash_code = bert_score.utils.get_hash(args.model_type, num_layers, args.idf, args.rescale_with_baseline,
                                          use_custom_baseline=False, use_fast_tokenizer=False)
    return p, r, f, hash_code
