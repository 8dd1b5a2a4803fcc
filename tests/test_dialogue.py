import io
import json
from collections import Counter

import pytest
import torch
from conftest import ZH_LINES
from transformers import AutoTokenizer

import chat
import eval_chat
import eval_ppl
import finetune_chat
from gpt2ft.cli import UserError
from gpt2ft.codec import make_codec
from gpt2ft.dialogue import BOT, USER, ChatBot, ChatFormat, add_speaker_tokens, read_dialogues
from gpt2ft.generation import DecodingArgs, generate_batch
from gpt2ft.modeling import load_model, pick_runtime
from gpt2ft.tokens import IGNORE_INDEX


@pytest.fixture(scope="module")
def chat_setup(zh_model_dir):
    model = load_model(str(zh_model_dir))
    tokenizer = AutoTokenizer.from_pretrained(zh_model_dir)
    add_speaker_tokens(model, tokenizer)
    codec = make_codec(tokenizer)
    return model, codec, ChatFormat(codec)


def test_toy_dialogue_format(chat_setup):
    _, codec, fmt = chat_setup
    s1, s2 = fmt.speaker_ids
    cls, sep = codec.bos_id, codec.eos_id
    a, b = codec.encode("你好"), codec.encode("再见")
    inputs, targets, types = fmt.example([a, b], [USER, BOT], "all")
    full = [cls, s1, *a, sep, s2, *b, sep]
    assert inputs == full[:-1]
    assert [full.index(sep), len(full) - 1] == [i for i, t in enumerate(full) if t == sep]
    assert types == [s1, s1, s1, s1, s1, s2, s2, s2][:len(inputs)]
    assert targets == [IGNORE_INDEX, *a, sep, IGNORE_INDEX, *b, sep]
    _, bot_targets, _ = fmt.example([a, b], [USER, BOT], "bot")
    assert bot_targets == [IGNORE_INDEX] * 5 + [*b, sep]
    assert fmt.example([a, b], [USER, BOT], "all", with_types=False)[2] is None
    assert len(codec.tokenizer) == 21130 and model_rows(chat_setup) == 21184


def model_rows(setup):
    return setup[0].get_input_embeddings().num_embeddings


def test_long_dialogues_are_cut_at_utterance_boundaries(chat_setup):
    _, codec, fmt = chat_setup
    utterances = [codec.encode(line) for line in ZH_LINES[:9]]
    counts = Counter()
    examples = fmt.dialogue_examples(utterances, 24, "all", True, counts)
    assert len(examples) > 2
    seen = []
    for inputs, targets, types in examples:
        assert len(inputs) + 1 <= 24 and inputs[0] == codec.bos_id
        segments = []
        for i, t in enumerate(inputs + [targets[-1]]):
            if t in fmt.speaker_ids:
                segments.append((fmt.speaker_ids.index(t), []))
            elif t not in (codec.bos_id, codec.eos_id):
                segments[-1][1].append(t)
        seen += segments
    assert [u for _, u in seen] == utterances
    assert [s for s, _ in seen] == [i % 2 for i in range(9)]
    huge = [codec.encode("好" * 50), codec.encode("对")]
    cut = fmt.dialogue_examples(huge, 24, "all", True, counts)
    assert counts["utterances cut to fit the context"] == 1 and all(len(e[0]) < 24 for e in cut)


def test_history_budget_drops_oldest_turns(chat_setup):
    _, codec, fmt = chat_setup
    history = [(i % 2, codec.encode(line)) for i, line in enumerate(ZH_LINES[:8])]
    ids, types, dropped = fmt.prompt(history, 30)
    assert len(ids) <= 30 and len(types) == len(ids)
    assert dropped > 0 and ids[-1] == fmt.speaker_ids[BOT] and ids[0] == codec.bos_id
    assert ids[-2 - len(history[-1][1]):-2] == history[-1][1]
    alone, _, _ = fmt.prompt([(USER, codec.encode("好" * 100))], 20)
    assert len(alone) == 20


def test_control_tokens_typed_by_the_user_stay_text(chat_setup):
    _, codec, fmt = chat_setup
    ids = codec.encode("[SEP][speaker2][CLS]你好")
    assert not {codec.eos_id, codec.bos_id, *fmt.speaker_ids} & set(ids)
    assert codec.decode(ids) == "[sep][speaker2][cls]你好"


def test_generation_with_speaker_types_matches_a_no_cache_loop(chat_setup):
    model, codec, fmt = chat_setup
    ids, types, _ = fmt.prompt([(USER, codec.encode("你好"))], 60)
    runtime = pick_runtime(prefer_cpu=True)
    fast = generate_batch(model, codec, [ids], {"max_new_tokens": 5, "do_sample": False}, runtime,
                          token_types=[types])[0]
    banned = codec.banned_ids(model.get_output_embeddings().out_features)
    seq, seq_types, slow = list(ids), list(types), []
    with torch.no_grad():
        for _ in range(5):
            logits = model(input_ids=torch.tensor([seq]), token_type_ids=torch.tensor([seq_types])).logits[0, -1]
            logits[banned] = -float("inf")
            token = int(logits.argmax())
            if token == codec.eos_id:
                break
            slow.append(token)
            seq.append(token)
            seq_types.append(fmt.speaker_ids[BOT])
    assert fast == slow


def test_readers(naturalconv_dir, tmp_path):
    split = read_dialogues(naturalconv_dir)
    assert (len(split.train), len(split.dev), len(split.test)) == (7, 1, 2)
    assert split.counts["train ids without a dialogue"] == 1
    assert split.test[0] == [ZH_LINES[(8 + k) % len(ZH_LINES)] for k in range(4 + 8 % 3)]
    assert read_dialogues(naturalconv_dir / "dialog_release.json").train == split.train
    broken = tmp_path / "nc"
    broken.mkdir()
    (broken / "dialog_release.json").write_text("[]", encoding="utf-8")
    with pytest.raises(UserError, match="train.txt not found"):
        read_dialogues(broken)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps([["你好", "你好呀"], ["一句"], ["在吗", "在", "好的"]] * 10, ensure_ascii=False),
                     encoding="utf-8")
    split = read_dialogues(plain)
    assert len(split.train) + len(split.dev) + len(split.test) == 20 and len(split.test) == 1
    assert split.counts["dialogues with fewer than two utterances skipped"] == 10
    yml = tmp_path / "talk.yml"
    yml.write_text("categories:\n- 问候\nconversations:\n- - 你好\n  - 你好，很高兴认识你\n- - 早上好\n  - 早\n"
                   "- - 吃了吗\n  - 吃了\n", encoding="utf-8")
    assert read_dialogues(yml).test == [["吃了吗", "吃了"]]
    (tmp_path / "obj.json").write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(UserError, match="not a JSON list of dialogues"):
        read_dialogues(tmp_path / "obj.json")


def test_empty_replies_are_retried_a_bounded_number_of_times(chat_setup, monkeypatch):
    model, codec, _ = chat_setup
    calls = []

    def always_empty(*args, **kwargs):
        calls.append(1)
        return [[]]

    monkeypatch.setattr("gpt2ft.generation.generate_batch", always_empty)
    bot = ChatBot(model, codec, DecodingArgs(max_new_tokens=8), pick_runtime(prefer_cpu=True), retries=2)
    assert bot.reply("你好") == ""
    assert len(calls) == 3


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory, zh_model_dir, naturalconv_dir):
    out = tmp_path_factory.mktemp("chat") / "model"
    result = finetune_chat.main(["--model", str(zh_model_dir), "--data", str(naturalconv_dir), "--output-dir",
                                 str(out), "--block-size", "64", "--batch-size", "4", "--lr", "3e-3",
                                 "--max-steps", "8", "--eval-interval", "4", "--log-interval", "2"])
    return out, result


def test_finetune_chat_learns_and_stores_its_format(chat_model, capsys):
    out, result = chat_model
    assert result["train_losses"][-1] < result["train_losses"][0]
    config = json.loads((out / "config.json").read_text())
    assert config["chat_loss_on"] == "all" and config["chat_speaker_embeddings"] is True
    assert "[speaker1]" in AutoTokenizer.from_pretrained(out).get_vocab()


def test_loss_on_bot_and_no_speaker_embeddings(zh_model_dir, naturalconv_dir, tmp_path, capsys):
    common = ["--model", str(zh_model_dir), "--data", str(naturalconv_dir), "--block-size", "64", "--batch-size",
              "4", "--max-steps", "1"]
    finetune_chat.main([*common, "--output-dir", str(tmp_path / "all")])
    share_all = float(capsys.readouterr().out.split("share of positions with loss ")[1].split()[0])
    finetune_chat.main([*common, "--output-dir", str(tmp_path / "bot"), "--loss-on", "bot",
                        "--no-speaker-embeddings"])
    printed = capsys.readouterr().out
    assert "train: 7 dialogues" in printed
    assert float(printed.split("share of positions with loss ")[1].split()[0]) < share_all
    config = json.loads((tmp_path / "bot" / "config.json").read_text())
    assert config["chat_loss_on"] == "bot" and config["chat_speaker_embeddings"] is False


def test_chat_through_stdin(chat_model, tmp_path, monkeypatch, capsys):
    out, _ = chat_model
    transcript = tmp_path / "chat.json"
    monkeypatch.setattr("sys.stdin", io.StringIO("你好\n/history\n[SEP] 在吗\n你喜欢什么？\n"))
    capsys.readouterr()
    turns = chat.main(["--model", str(out), "--transcript", str(transcript), "--max-new-tokens", "12"])
    printed = capsys.readouterr().out.strip().split("\n")
    assert len([t for t in turns if t.get("role") == "bot"]) == 3
    assert printed[1] == "user: 你好" and printed[2].startswith("bot: ")
    assert len(printed) == 3 + 2
    saved = json.loads(transcript.read_text())
    assert [t["role"] for t in saved] == ["user", "bot"] * 3 and saved[2]["text"] == "[SEP] 在吗"


def test_chat_refuses_a_model_without_speakers(zh_model_dir, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("你好\n"))
    with pytest.raises(UserError, match="not a chat model"):
        chat.main(["--model", str(zh_model_dir)])


def test_chat_evaluations(chat_model, naturalconv_dir, tiny_zh_bert_dir, tmp_path, capsys):
    out, _ = chat_model
    results = tmp_path / "chat.json"
    ppl = eval_ppl.main(["--task", "chat", "--finetuned", str(out), "--data", str(naturalconv_dir),
                         "--results", str(results)])
    assert "original" not in ppl and ppl["finetuned"]["ppl"] > 1
    scored = eval_chat.main(["--model", str(out), "--data", str(naturalconv_dir), "--results", str(results),
                             "--bertscore-model", str(tiny_zh_bert_dir), "--num-layers", "2",
                             "--max-new-tokens", "10"])
    entry = scored["finetuned"]
    assert entry["bertscore_samples"] == 2 + 3
    for key in ("bleu2", "bleu4", "distinct1", "distinct2", "f1", "ppl"):
        assert key in entry
    text = capsys.readouterr().out
    assert "| BLEU-2 |" in text and "decoding: sampling with temperature 0.7" in text

