import torch

from gpt2ft.codec import make_codec
from gpt2ft.tokens import IGNORE_INDEX, make_blocks, pack_blocks, pad_blocks, tokenize_documents, window_blocks


def test_pack_puts_eos_between_documents_and_shifts_targets():
    blocks = pack_blocks([[1, 2, 3], [4, 5]], bos_id=0, eos_id=0, block_size=4)
    assert blocks.inputs.tolist() == [[0, 1, 2, 3], [0, 4, 5, 0]]
    assert blocks.targets.tolist() == [[1, 2, 3, 0], [4, 5, 0, IGNORE_INDEX]]
    assert blocks.documents == 2 and blocks.tokens == 8
    assert blocks.loss_tokens == 7
    assert blocks.useful_ratio == 7 / 8


def test_pad_keeps_one_document_per_row_and_masks_padding():
    blocks = pad_blocks([[1, 2, 3, 4, 5], [6]], bos_id=0, eos_id=0, pad_id=9, block_size=4)
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
    bos_id = eos_id = pad_id = 0


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
    codec = make_codec(counting)
    first = tokenize_documents(texts, codec, tmp_path)
    second = tokenize_documents(texts, codec, tmp_path)
    assert first == second == [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert counting.calls == 1
    assert len(list(tmp_path.glob("tokens-*.pt"))) == 1
    tokenize_documents(texts + ["a third"], codec, tmp_path)
    assert counting.calls == 2


def test_real_gpt2_tokenizer_round_trips_lyrics(tokenizer):
    text = 'The lyrics of "Café":\n\nWe hung paper lanterns — 3 of them!\n\nOn the fire escape'
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer("Hello world")["input_ids"] == [15496, 995]
    assert tokenizer.decode(ids) == text
    assert len(tokenizer) == 50257 and tokenizer.eos_token_id == 50256


def test_bert_style_documents_are_framed_by_cls_and_sep():
    packed = pack_blocks([[5, 6], [7]], bos_id=101, eos_id=102, block_size=3)
    assert packed.inputs.tolist() == [[101, 5, 6], [102, 101, 7]]
    assert packed.targets.tolist() == [[5, 6, 102], [101, 7, 102]]


def test_windows_overlap_by_block_minus_stride():
    blocks = window_blocks([list(range(1, 10))], bos_id=0, eos_id=99, pad_id=-1, block_size=4, stride=2)
    assert blocks.inputs.tolist() == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7], [6, 7, 8, 9]]
    assert blocks.targets.tolist()[-1] == [7, 8, 9, 99]
