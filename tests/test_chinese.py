import json
import zipfile

import pytest
import torch
from conftest import ZH_LINES, zh_song
from transformers import AutoTokenizer

from gpt2ft.chinese import (
    ChineseModelArgs,
    ChineseSong,
    build_chinese_model,
    chinese_continuation_sample,
    clean_lyrics,
    load_chinese_lyrics,
    padded_size,
    transplant_embeddings,
)
from gpt2ft.cli import UserError
from gpt2ft.codec import NEWLINE_TOKEN, BertChineseCodec, make_codec
from gpt2ft.corpora import read_text_corpus
from gpt2ft.generation import generate_batch
from gpt2ft.modeling import load_model, pick_runtime

TEXT = "《夜空》\n我在2024年学会了Python和GPT-2。\n你好，world！今天是第3天，hello world.\n\n第二段：再见"


@pytest.fixture(scope="module")
def zh_codec(zh_tokenizer_dir):
    return make_codec(AutoTokenizer.from_pretrained(zh_tokenizer_dir))


def test_chinese_round_trip_keeps_lines(zh_codec):
    assert isinstance(zh_codec, BertChineseCodec)
    ids = zh_codec.encode(TEXT)
    assert zh_codec.unk_id not in ids
    assert ids.count(zh_codec.newline_id) == 4
    assert zh_codec.decode(ids) == TEXT.lower()
    pieces = zh_codec.tokenizer.convert_ids_to_tokens(zh_codec.encode("我爱你\n你好"))
    assert pieces == ["我", "爱", "你", NEWLINE_TOKEN, "你", "好"]
    assert (zh_codec.bos_id, zh_codec.eos_id, zh_codec.pad_id, zh_codec.unk_id) == (101, 102, 0, 100)


def test_gpt2_codec_is_chosen_for_byte_bpe(tokenizer):
    assert type(make_codec(tokenizer)).__name__ == "ByteBPECodec"


def test_transplant_copies_gpt2_rows(tiny_model_dir, zh_tokenizer_dir, tokenizer):
    model = load_model(str(tiny_model_dir))
    old = model.get_input_embeddings().weight.detach().clone()
    zh = AutoTokenizer.from_pretrained(zh_tokenizer_dir)
    transplant_embeddings(model, tokenizer, zh)
    new = model.get_input_embeddings().weight
    assert new.shape == (padded_size(21128), 32) == (21184, 32)
    assert model.config.vocab_size == 21184
    assert model.get_output_embeddings().weight.data_ptr() == new.data_ptr()
    vocab = zh.get_vocab()
    the = tokenizer("the", add_special_tokens=False)["input_ids"]
    assert len(the) == 1 and torch.equal(new[vocab["the"]], old[the[0]])
    wo = tokenizer("我", add_special_tokens=False)["input_ids"]
    assert len(wo) > 1 and torch.allclose(new[vocab["我"]], old[wo].mean(0))
    piece = tokenizer("ing", add_special_tokens=False)["input_ids"]
    assert torch.allclose(new[vocab["##ing"]], old[piece].mean(0))
    newline = tokenizer("\n", add_special_tokens=False)["input_ids"]
    assert torch.equal(new[vocab[NEWLINE_TOKEN]], old[newline[0]])
    for row in (vocab["[CLS]"], vocab["[SEP]"], 21128, 21183):
        assert torch.allclose(new[row], old.mean(0))
    assert (model.config.bos_token_id, model.config.eos_token_id) == (101, 102)


def test_generated_ids_never_leave_the_tokenizer(tiny_model_dir, tokenizer, zh_codec):
    model = load_model(str(tiny_model_dir))
    transplant_embeddings(model, tokenizer, zh_codec.tokenizer)
    with torch.no_grad():
        model.get_output_embeddings().weight[21128:] += 50.0
        model.get_output_embeddings().weight[[100, 0, 101, 103]] += 50.0
    torch.manual_seed(0)
    runtime = pick_runtime(prefer_cpu=True)
    out = generate_batch(model, zh_codec, [zh_codec.encode("我们")] * 4, {"max_new_tokens": 20, "do_sample": True},
                         runtime)
    generated = [i for row in out for i in row]
    assert generated and max(generated) < 21128
    assert not {100, 0, 101, 103} & set(generated)


def test_build_refuses_a_non_bert_tokenizer(tiny_model_dir, tokenizer_dir):
    args = ChineseModelArgs(model=str(tiny_model_dir), tokenizer=str(tokenizer_dir))
    with pytest.raises(UserError, match="not a BERT-style WordPiece tokenizer"):
        build_chinese_model(args, pick_runtime(prefer_cpu=True))


def test_text_corpora(tmp_path):
    daily = tmp_path / "daily.json"
    daily.write_text(json.dumps([{"output": "新闻一。"}, {"output": ""}, {"input": "x"}, {"output": "新闻二。"}],
                                ensure_ascii=False), encoding="utf-8")
    docs, counts = read_text_corpus(daily)
    assert docs == ["新闻一。", "新闻二。"]
    assert counts["records without an 'output' text skipped"] == 2
    (tmp_path / "obj.json").write_text('{"output": "x"}', encoding="utf-8")
    with pytest.raises(UserError, match="holds a JSON dict, not a list"):
        read_text_corpus(tmp_path / "obj.json")
    lines = tmp_path / "t.jsonl"
    lines.write_text('{"text": "第一篇"}\nnot json\n{"text": "第二篇"}\n', encoding="utf-8")
    assert read_text_corpus(lines)[0] == ["第一篇", "第二篇"]
    folder = tmp_path / "novels"
    folder.mkdir()
    (folder / "a.txt").write_text("第一章\r\n\r\n\r\n天亮了。  \n", encoding="utf-8")
    (folder / "b.txt").write_bytes("第二章，风起。".encode("gbk"))
    (folder / "c.txt").write_bytes(b"\x00\x01binary")
    docs, counts = read_text_corpus(folder)
    assert docs == ["第一章\n\n天亮了。", "第二章，风起。"]
    assert counts["binary or undecodable files skipped"] == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.bin").write_bytes(b"1")
    with pytest.raises(UserError, match="holds no .txt files"):
        read_text_corpus(empty)


def test_lyric_corpus_split_by_artist(zh_lyrics_dir, tmp_path):
    split = load_chinese_lyrics(zh_lyrics_dir, test_artists=10)
    assert split.test_artists == [f"歌手{a:02d}" for a in range(2, 12)]
    assert len(split.train) == 4 and len(split.test) == 22
    assert split.counts["binary or undecodable files skipped"] == 1
    gbk = [s for s in split.test if s.title == "老歌"]
    assert gbk and gbk[0].lyrics == zh_song(7)
    one_line = [s for s in split.test if s.title == "一行"][0]
    assert one_line.lyrics == "第一句\n第二句\n第三句\n第四句"
    assert "train: 4 songs by 2 artists; test: 22 songs" in split.report()
    archive = tmp_path / "Chinese_Lyrics.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(zh_lyrics_dir.rglob("*")):
            zf.write(file, file.relative_to(zh_lyrics_dir.parent))
    zipped = load_chinese_lyrics(archive, test_artists=10)
    assert [(s.artist, s.title, s.lyrics) for s in zipped.test] == [(s.artist, s.title, s.lyrics) for s in split.test]
    with pytest.raises(UserError, match="leaves no training artists"):
        load_chinese_lyrics(zh_lyrics_dir, test_artists=12)


def test_lyric_folder_of_binaries_is_an_error(tmp_path):
    (tmp_path / "artist").mkdir()
    (tmp_path / "artist" / "song.txt").write_bytes(b"\x00\xff\x00\xfe")
    with pytest.raises(UserError, match="holds no readable song files"):
        load_chinese_lyrics(tmp_path)


def test_chinese_continuation_protocol():
    stanzas = chinese_continuation_sample(ChineseSong("a", "星", "一\n二\n\n三\n四\n\n五\n六"))
    assert stanzas.input == "《星》\n一\n二\n\n三\n四\n" and stanzas.reference == "五\n六"
    lines = chinese_continuation_sample(ChineseSong("a", "星", "\n".join(ZH_LINES[:8])))
    assert lines.reference == "\n".join(ZH_LINES[6:8])
    assert lines.input == "《星》\n" + "\n".join(ZH_LINES[:6]) + "\n"
    assert chinese_continuation_sample(ChineseSong("a", "星", "只有一行")) is None
    assert clean_lyrics("你好  世界\r\n\r\n\r\n再见 朋友") == "你好\n世界\n\n再见 朋友"
