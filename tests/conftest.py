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
