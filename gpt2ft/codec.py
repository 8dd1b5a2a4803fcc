"""Text <-> ids for each tokenizer family: GPT-2's byte-level BPE, and BERT's Chinese WordPiece with line breaks."""
from __future__ import annotations

import hashlib
from typing import Sequence

NEWLINE_TOKEN = "[unused1]"


class ByteBPECodec:
    """GPT-2's tokenizer: lossless; <|endoftext|> both starts and ends a document."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.bos_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        self.unk_id = None if tokenizer.unk_token_id == self.eos_id else tokenizer.unk_token_id
        if self.eos_id is None:
            raise ValueError("the tokenizer has no end-of-text token")

    def __len__(self) -> int:
        return len(self.tokenizer)

    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids of each text; text that looks like a control token stays plain text."""
        return self.tokenizer(list(texts), add_special_tokens=False, split_special_tokens=True,
                              verbose=False)["input_ids"]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def banned_ids(self, vocab_rows: int) -> list[int]:
        """Ids generation must never produce: embedding rows past the tokenizer, the unknown token."""
        banned = list(range(len(self.tokenizer), vocab_rows))
        return banned + ([self.unk_id] if self.unk_id is not None else [])

    def fingerprint(self) -> str:
        """Changes whenever the same text would get other ids."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        state = backend.to_str() if backend is not None else repr(sorted(self.tokenizer.get_vocab().items()))
        return hashlib.sha256((type(self).__name__ + state).encode()).hexdigest()[:16]


def _joins_with_space(left: str, right: str) -> bool:
    return left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum()


class BertChineseCodec(ByteBPECodec):
    """bert-base-chinese WordPiece: [CLS] starts a document, [SEP] ends it, a newline is NEWLINE_TOKEN.

    The BERT tokenizer deletes line breaks, so text is encoded line by line with NEWLINE_TOKEN between lines;
    decoding joins tokens without the spaces BERT puts between characters (Latin words keep theirs)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        vocab = tokenizer.get_vocab()
        if NEWLINE_TOKEN not in vocab:
            raise ValueError(f"the tokenizer's vocabulary has no {NEWLINE_TOKEN} to stand for a line break")
        self.newline_id = vocab[NEWLINE_TOKEN]
        self.bos_id, self.eos_id = tokenizer.cls_token_id, tokenizer.sep_token_id
        self.pad_id, self.unk_id = tokenizer.pad_token_id, tokenizer.unk_token_id
        self.special_ids = set(tokenizer.all_special_ids)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        line_lists = [text.replace("\r\n", "\n").replace("\r", "\n").split("\n") for text in texts]
        flat = [line for lines in line_lists for line in lines]
        encoded = iter(self.tokenizer(flat, add_special_tokens=False, split_special_tokens=True,
                                     verbose=False)["input_ids"])
        result = []
        for lines in line_lists:
            ids: list[int] = []
            for number in range(len(lines)):
                if number:
                    ids.append(self.newline_id)
                ids.extend(next(encoded))
            result.append(ids)
        return result

    def decode(self, ids: Sequence[int]) -> str:
        text = ""
        for token_id in ids:
            if token_id == self.newline_id:
                text += "\n"
                continue
            if token_id in self.special_ids and token_id != self.unk_id:
                continue
            token = self.tokenizer.convert_ids_to_tokens(int(token_id))
            if token.startswith("##"):
                text += token[2:]
            elif _joins_with_space(text, token):
                text += " " + token
            else:
                text += token
        return text

    def banned_ids(self, vocab_rows: int) -> list[int]:
        """Never generate padding rows or special tokens ([UNK], [PAD], [CLS], [MASK], speakers); [SEP] ends text."""
        specials = set(self.tokenizer.all_special_ids) - {self.eos_id}
        return list(range(len(self.tokenizer), vocab_rows)) + sorted(specials)


def make_codec(tokenizer) -> ByteBPECodec:
    """The codec for a tokenizer: BERT-style WordPiece ([CLS]/[SEP]) or GPT-2-style byte-level BPE."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    wordpiece = backend is not None and type(backend.model).__name__ == "WordPiece"
    if wordpiece and tokenizer.cls_token is not None and tokenizer.sep_token is not None:
        return BertChineseCodec(tokenizer)
    return ByteBPECodec(tokenizer)
