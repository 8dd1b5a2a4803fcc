import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from gpt2ft.assets import gpt2_tokenizer, tiny_gpt2  # noqa: E402

SAMPLE_CSV = ROOT / "data" / "sample" / "lyrics-data.csv"


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    return gpt2_tokenizer(tmp_path_factory.mktemp("gpt2-tokenizer"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer_dir) -> Path:
    """2 layers, 32 dims, 128 positions, no dropout: fast and deterministic."""
    return tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2"), tokenizer_dir, n_positions=128, n_embd=32, dropout=0.0)


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir)


@pytest.fixture
def sample_csv() -> Path:
    return SAMPLE_CSV


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A 2-layer random BERT with a word-level vocabulary of the demo corpus, for the bert-score code path."""
    import csv
    import re

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    words = set()
    with open(SAMPLE_CSV, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            words.update(re.findall(r"\w+|[^\w\s]", (row["SName"] + " " + row["Lyric"]).lower()))
    vocab = ["[PAD]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast.from_pretrained(folder, model_max_length=512)
    assert tokenizer.unk_token_id not in tokenizer("Paper lanterns on the fire escape")["input_ids"]
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    return folder


def write_csv(path: Path, rows: list[dict], columns=("ALink", "SName", "SLink", "Lyric", "language")) -> Path:
    """Write a lyrics CSV in the Kaggle schema."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path
