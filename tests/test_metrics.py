import math

import pytest
import torch

from gpt2ft.cli import UserError
from gpt2ft.metrics import BertScoreArgs, bertscore, bleu, distinct_n, perplexity, rouge_l, sliding_windows
from gpt2ft.modeling import load_model, pick_runtime
from gpt2ft.tokens import IGNORE_INDEX


def test_sliding_windows_score_every_token_once():
    seq = list(range(100, 111))
    windows = sliding_windows(seq, window=4, stride=2)
    scored = []
    for inputs, targets in windows:
        assert 0 < len(inputs) <= 4 and len(inputs) == len(targets)
        begin = seq.index(inputs[0])
        assert inputs == seq[begin:begin + len(inputs)]
        scored += [begin + j + 1 for j, t in enumerate(targets) if t != IGNORE_INDEX]
    assert scored == list(range(1, 11))
    assert len(sliding_windows(seq, window=20, stride=10)) == 1


def _hand_nll(model, seq, positions):
    """Sum of -log p(seq[p] | seq[max(0, p - 4):p]) computed one position at a time."""
    total, correct = 0.0, 0
    for p in positions:
        context = torch.tensor([seq[max(0, p - 4):p]])
        with torch.no_grad():
            logits = model(input_ids=context).logits[0, -1]
        total -= torch.log_softmax(logits.double(), -1)[seq[p]].item()
        correct += int(logits.argmax().item() == seq[p])
    return total, correct


def test_perplexity_matches_a_hand_computation(tiny_model_dir):
    runtime = pick_runtime(prefer_cpu=True)
    model = load_model(str(tiny_model_dir), runtime)
    generator = torch.Generator().manual_seed(0)
    seqs = [torch.randint(0, 50257, (n,), generator=generator).tolist() for n in (3, 9, 6)]
    result = perplexity(model, seqs, window=128, stride=64, runtime=runtime, batch_size=2)
    full_nll, full_correct = 0.0, 0
    for seq in seqs:
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([seq])).logits[0, :-1].double()
        logp = torch.log_softmax(logits, -1)
        full_nll -= sum(logp[i, seq[i + 1]].item() for i in range(len(seq) - 1))
        full_correct += sum(int(logits[i].argmax() == seq[i + 1]) for i in range(len(seq) - 1))
    assert result.tokens == 2 + 8 + 5
    assert result.ppl == pytest.approx(math.exp(full_nll / 15), rel=1e-5)
    assert result.correct == full_correct

    windowed = perplexity(model, seqs, window=4, stride=1, runtime=runtime, batch_size=3)
    hand = [_hand_nll(model, seq, range(1, len(seq))) for seq in seqs]
    assert windowed.tokens == 15
    assert windowed.nll == pytest.approx(sum(h[0] for h in hand), rel=1e-5)
    assert windowed.correct == sum(h[1] for h in hand)


def test_distinct_bleu_rouge_values():
    assert distinct_n(["a b a b"], 1) == 0.5
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    assert distinct_n([""], 2) == 0.0
    assert bleu(["the cat sat on the red mat today"], ["the cat sat on the red mat today"]) == pytest.approx(100)
    assert bleu(["nothing alike here at all"], ["the cat sat on the mat"]) < 1
    assert bleu(["我爱北京天安门"], ["我爱北京天安门"], tokenize="char", max_order=2) == pytest.approx(100)
    assert 0 < bleu(["我爱北京"], ["我爱上海"], tokenize="char", max_order=2) < 100
    assert rouge_l(["the cat sat"], ["the cat sat"]) == pytest.approx(1.0)
    assert rouge_l(["the cat"], ["the cat sat on"]) == pytest.approx(2 * (1 * 0.5) / 1.5)
    chars = rouge_l(["我爱你"], ["我爱他"], tokenizer=list)
    assert chars == pytest.approx(2 / 3)
    assert rouge_l(["我爱你"], ["我爱他"]) == 0.0


def test_bertscore_scores_empty_generations_as_zero(tiny_bert_dir):
    args = BertScoreArgs(str(tiny_bert_dir), 2, "en", False, False, 8)
    p, r, f, hash_code = bertscore(["paper lanterns on the fire", "", "light them up"],
                                   ["paper lanterns on the fire", "the river", "we light the lanterns"],
                                   args, "cpu")
    assert p[1] == r[1] == f[1] == 0.0
    assert f[0] == pytest.approx(1.0, abs=1e-4)
    assert 0 < f[2] < 1
    assert "L2_no-idf" in hash_code


def test_bertscore_needs_layers_for_a_local_encoder(tiny_bert_dir):
    with pytest.raises(UserError, match="--num-layers is required"):
        bertscore(["a"], ["a"], BertScoreArgs(str(tiny_bert_dir), None, "en", False, False, 8), "cpu")
