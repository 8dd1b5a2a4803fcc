import torch

from gpt2ft.tokens import IGNORE_INDEX, make_blocks, pack_blocks, pad_blocks, tokenize_documents


def test_pack_puts_eos_between_documents_and_shifts_targets():
    blocks = pack_blocks([[1, 2, 3], [4, 5]], eos_id=0, block_size=4)
    assert blocks.inputs.tolist() == [[0, 1, 2, 3], [0, 4, 5, 0]]
    assert blocks.targets.tolist() == [[1, 2, 3, 0], [4, 5, 0, IGNORE_INDEX]]
    assert blocks.documents == 2 and blocks.tokens == 8
    assert blocks.loss_tokens == 7
    assert blocks.useful_ratio == 7 / 8


def test_pad_keeps_one_document_per_row_and_masks_padding():
    blocks = pad_blocks([[1, 2, 3, 4, 5], [6]], eos_id=0, pad_id=9, block_size=4)
    assert blocks.inputs.tolist() == [[0, 1, 2, 3], [4, 5, 9, 9], [0, 6, 9, 9]]
    assert blocks.targets.tolist() == [[1, 2, 3, 4], [5, 0, -100, -100], [6, 0, -100, -100]]
    assert blocks.useful_ratio == 8 / 12


def test_packing_beats_padding_on_useful_tokens():
    generator = torch.Generator().manual_seed(0)
    docs = [list(range(1, int(n) + 1)) for n in torch.randint(50, 400, (200,), generator=generator)]
    packed = make_blocks(docs, _Eos(), 256, pack=True)
    padded = make_blocks(docs, _Eos(), 256, pack=False)
    assert packed.useful_ratio > 0.99
    assert padded.useful_ratio < 0.8
    assert packed.loss_tokens == padded.loss_tokens == sum(len(d) + 1 for d in docs)


class _Eos:
    eos_token_id = 0
    pad_token_id = None


class CountingTokenizer:
    """Delegates to a real tokenizer and counts how often it is asked to tokenize."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.inner(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_tokenization_is_cached(tmp_path, tokenizer):
    texts = ["The lyrics of \"A\":\n\nHello world", "second song\nwith two lines"]
    counting = CountingTokenizer(tokenizer)
    first = tokenize_documents(texts, counting, tmp_path)
    second = tokenize_documents(texts, counting, tmp_path)
    assert first == second == [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert counting.calls == 1
    assert len(list(tmp_path.glob("tokens-*.pt"))) == 1
    tokenize_documents(texts + ["a third"], counting, tmp_path)
    assert counting.calls == 2


def test_real_gpt2_tokenizer_round_trips_lyrics(tokenizer):
    text = 'The lyrics of "Café":\n\nWe hung paper lanterns — 3 of them!\n\nOn the fire escape'
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer("Hello world")["input_ids"] == [15496, 995]
    assert tokenizer.decode(ids) == text
    assert len(tokenizer) == 50257 and tokenizer.eos_token_id == 50256
