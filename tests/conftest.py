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


ZH_LINES = [
    "夜空中最亮的星", "请照亮我前行", "我在人海里找你", "风吹过城市的街道", "雨落在窗前的花上", "我们一起走过春天",
    "月光洒满了小河", "你的笑容像阳光", "远方的山还在等我", "时间带走了昨天", "心里有一首歌", "明天会更好",
    "灯火在黑夜里闪烁", "海浪拍打着沙滩", "我把思念写成信", "天空飘着白云",
]


def zh_song(seed: int, stanzas: int = 2) -> str:
    """A short Chinese song of 2-line stanzas separated by blank lines, built from ZH_LINES."""
    lines = [ZH_LINES[(seed * 3 + i) % len(ZH_LINES)] for i in range(2 * stanzas)]
    return "\n\n".join("\n".join(lines[i:i + 2]) for i in range(0, len(lines), 2))


@pytest.fixture(scope="session")
def zh_tokenizer_dir(tmp_path_factory) -> Path:
    from gpt2ft.assets import chinese_bert_tokenizer

    return chinese_bert_tokenizer(tmp_path_factory.mktemp("zh-tokenizer"))


@pytest.fixture(scope="session")
def zh_model_dir(tmp_path_factory, zh_tokenizer_dir) -> Path:
    """A tiny random GPT-2 on the bert-base-chinese vocabulary (stands in for gpt2-chinese-cluecorpussmall)."""
    return tiny_gpt2(tmp_path_factory.mktemp("tiny-zh-gpt2"), zh_tokenizer_dir, n_positions=128, n_embd=32,
                     dropout=0.0)


@pytest.fixture(scope="session")
def zh_lyrics_dir(tmp_path_factory) -> Path:
    """12 artists with 2 songs each, one GBK-encoded song, one binary file, one song without blank lines."""
    root = tmp_path_factory.mktemp("zh-lyrics") / "Chinese_Lyrics"
    for a in range(12):
        artist = root / f"歌手{a:02d}"
        artist.mkdir(parents=True)
        for s in range(2):
            (artist / f"歌{a}-{s}.txt").write_text(zh_song(a * 2 + s), encoding="utf-8")
    (root / "歌手03" / "老歌.txt").write_bytes(zh_song(7).encode("gbk"))
    (root / "歌手04" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0\0\x10JFIF\0" + bytes(range(256)))
    (root / "歌手05" / "一行.txt").write_text("第一句  第二句  第三句  第四句", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def tiny_zh_bert_dir(tmp_path_factory, zh_tokenizer_dir) -> Path:
    """A 2-layer random BERT on the bert-base-chinese vocabulary, for bert-score's Chinese path."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-zh-bert")
    for file in zh_tokenizer_dir.iterdir():
        shutil.copy(file, folder / file.name)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=21128, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def naturalconv_dir(tmp_path_factory) -> Path:
    """NaturalConv as distributed: dialog_release.json plus train/dev/test.txt id lists."""
    import json

    folder = tmp_path_factory.mktemp("naturalconv")
    dialogues = [{"dialog_id": f"d{i}", "document_id": i,
                  "content": [ZH_LINES[(i + k) % len(ZH_LINES)] for k in range(4 + i % 3)]} for i in range(10)]
    (folder / "dialog_release.json").write_text(json.dumps(dialogues, ensure_ascii=False), encoding="utf-8")
    (folder / "train.txt").write_text("\n".join(f"d{i}" for i in range(7)) + "\nmissing\n", encoding="utf-8")
    (folder / "dev.txt").write_text("d7\n", encoding="utf-8")
    (folder / "test.txt").write_text("d8\nd9\n", encoding="utf-8")
    return folder
