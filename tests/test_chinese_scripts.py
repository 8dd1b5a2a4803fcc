import json

import pytest
from conftest import ZH_LINES, zh_song
from safetensors.torch import load_file

import eval_bertScore_chinese
import eval_ppl
import finetune_chinese
import finetune_chinese_lyrics
import generate_chinese
import generate_chinese_lyrics
from gpt2ft.cli import UserError

TRAIN = ["--block-size", "64", "--batch-size", "2", "--lr", "3e-3", "--log-interval", "1", "--eval-interval", "4",
         "--save-interval", "100"]


@pytest.fixture(scope="module")
def daily_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("daily") / "peoples_daily.json"
    records = [{"output": "。".join(ZH_LINES[i:i + 5]) + "。"} for i in range(12)] + [{"output": ""}]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def news_model(tmp_path_factory, tiny_model_dir, zh_tokenizer_dir, daily_json):
    out = tmp_path_factory.mktemp("news") / "chinese"
    result = finetune_chinese.main(["--model", str(tiny_model_dir), "--tokenizer", str(zh_tokenizer_dir),
                                    "--data", str(daily_json), "--output-dir", str(out), *TRAIN,
                                    "--max-steps", "12"])
    return out, result


def test_finetune_chinese_transplants_and_learns(news_model):
    out, result = news_model
    assert result["train_losses"][-1] < result["train_losses"][0]
    weights = load_file(str(out / "model.safetensors"))
    assert weights["transformer.wte.weight"].shape == (21184, 32)
    config = json.loads((out / "config.json").read_text())
    assert (config["vocab_size"], config["eos_token_id"], config["bos_token_id"]) == (21184, 102, 101)


def test_generate_chinese_continues_without_unknowns(news_model):
    out, _ = news_model
    first = generate_chinese.main(["--model", str(out), "--prompt", "夜空中最亮的星", "--max-new-tokens", "15",
                                   "--seed", "1"])
    assert first == generate_chinese.main(["--model", str(out), "--prompt", "夜空中最亮的星", "--max-new-tokens",
                                           "15", "--seed", "1"])
    assert first[0] and "[UNK]" not in first[0] and "[PAD]" not in first[0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in first[0])


def test_fine_tuned_vocabulary_mismatch_is_refused(news_model, tokenizer_dir):
    out, _ = news_model
    with pytest.raises(UserError, match="has 50257 tokens but model .* has only 21184 embeddings"):
        generate_chinese.main(["--model", str(out), "--tokenizer", str(tokenizer_dir), "--prompt", "你好"])


def test_novel_windows_from_scratch_and_no_transplant(tmp_path, tiny_model_dir, zh_tokenizer_dir, capsys):
    novel = tmp_path / "novel.txt"
    novel.write_text("\n".join(ZH_LINES * 4), encoding="utf-8")
    common = ["--tokenizer", str(zh_tokenizer_dir), "--data", str(novel), *TRAIN, "--max-steps", "2"]
    scratch = finetune_chinese.main([*common, "--from-scratch", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
                                     "--n-positions", "64", "--stride", "32", "--output-dir", str(tmp_path / "s")])
    assert scratch["steps"] == 2
    printed = capsys.readouterr().out
    assert "from scratch: GPT-2 with" in printed
    assert "train: 1 documents" in printed and "validation: 1 documents" in printed
    random_rows = finetune_chinese.main(["--model", str(tiny_model_dir), *common, "--no-transplant",
                                         "--output-dir", str(tmp_path / "r")])
    assert random_rows["steps"] == 2
    assert "(random rows)" in capsys.readouterr().out
    text = generate_chinese.main(["--model", str(tmp_path / "s"), "--prompt", "风吹过", "--max-new-tokens", "5"])
    assert len(text) == 1


def test_chinese_lyrics_pipeline(tmp_path, zh_model_dir, zh_lyrics_dir, tiny_zh_bert_dir, capsys):
    out = tmp_path / "lyrics"
    data = ["--data", str(zh_lyrics_dir), "--test-artists", "4"]
    result = finetune_chinese_lyrics.main(["--model", str(zh_model_dir), *data, "--output-dir", str(out), *TRAIN,
                                           "--max-steps", "6"])
    assert result["steps"] == 6
    assert "test: 8 songs by the last 4 artists" in capsys.readouterr().out

    song = generate_chinese_lyrics.main(["--model", str(out), "--title", "夜空", "--max-new-tokens", "20"])
    assert song[0] and "[UNK]" not in song[0]

    results = tmp_path / "zh.json"
    compare = ["--original", str(zh_model_dir), "--finetuned", str(out), "--results", str(results), *data]
    table = eval_bertScore_chinese.main([*compare, "--bertscore-model", str(tiny_zh_bert_dir), "--num-layers", "2",
                                         "--max-new-tokens", "20"])
    for column in ("original", "finetuned"):
        assert table[column]["bertscore_samples"] == 8
        assert 0 <= table[column]["f1"] <= 1
        assert 0 <= table[column]["rougeL"] <= 1
    ppl = eval_ppl.main(["--task", "chinese_lyrics", *compare])
    assert ppl["finetuned"]["ppl"] < ppl["original"]["ppl"]
    assert ppl["finetuned"]["precision"] == table["finetuned"]["precision"]
    out_text = capsys.readouterr().out
    assert "| PPL |" in out_text and "| F1 |" in out_text


def test_eval_ppl_task_defaults(capsys):
    with pytest.raises(SystemExit):
        eval_ppl.main(["--task", "chinese_lyrics", "--help"])
    text = capsys.readouterr().out
    assert "uer/gpt2-chinese-cluecorpussmall" in text and "--test-artists" in text


def test_lyrics_songs_keep_their_lines(zh_lyrics_dir):
    from gpt2ft.chinese import chinese_lyrics_document, load_chinese_lyrics

    song = load_chinese_lyrics(zh_lyrics_dir, 10).train[0]
    assert chinese_lyrics_document(song) == f"《{song.title}》\n" + zh_song(0)
    assert "。" not in chinese_lyrics_document(song)
