import pytest

import generate
from gpt2ft.assets import tiny_gpt2
from gpt2ft.cli import UserError
from gpt2ft.codec import make_codec
from gpt2ft.generation import cut_at_paragraph, generate_batch
from gpt2ft.modeling import load_model_and_tokenizer, pick_runtime


def run(model_dir, *args):
    return generate.main(["--model", str(model_dir), *args])


def test_same_seed_same_output(tiny_model_dir):
    first = run(tiny_model_dir, "--prompt", "Hello there", "--max-new-tokens", "12", "--seed", "3")
    again = run(tiny_model_dir, "--prompt", "Hello there", "--max-new-tokens", "12", "--seed", "3")
    other = run(tiny_model_dir, "--prompt", "Hello there", "--max-new-tokens", "12", "--seed", "4")
    assert first == again
    assert first != other


def test_flags_reach_generation(tiny_model_dir, capsys):
    texts = run(tiny_model_dir, "--prompt", "Night", "--max-new-tokens", "7", "--num-return-sequences", "3",
                "--top-k", "5", "--top-p", "0.9", "--temperature", "0.7", "--repetition-penalty", "1.3")
    assert len(texts) == 3
    assert capsys.readouterr().out.count("===== sample") == 3
    greedy = run(tiny_model_dir, "--prompt", "Night", "--max-new-tokens", "7", "--greedy", "--seed", "1")
    assert greedy == run(tiny_model_dir, "--prompt", "Night", "--max-new-tokens", "7", "--greedy", "--seed", "2")
    beams = run(tiny_model_dir, "--prompt", "Night", "--max-new-tokens", "5", "--num-beams", "3", "--greedy")
    assert len(beams) == 1


def test_title_builds_the_lyrics_prompt(tiny_model_dir):
    by_title = run(tiny_model_dir, "--title", "Blue Hour", "--greedy", "--max-new-tokens", "6")
    by_prompt = run(tiny_model_dir, "--prompt", 'The lyrics of "Blue Hour":\n\n', "--greedy", "--max-new-tokens", "6")
    assert by_title == by_prompt


def test_reads_input_file(tiny_model_dir, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Morning comes", encoding="utf-8")
    from_file = run(tiny_model_dir, "--input", str(prompt), "--greedy", "--max-new-tokens", "5")
    assert from_file == run(tiny_model_dir, "--prompt", "Morning comes", "--greedy", "--max-new-tokens", "5")


def test_empty_or_missing_prompt_file_is_an_error(tiny_model_dir, tmp_path):
    empty = tmp_path / "input.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(UserError, match="is empty"):
        run(tiny_model_dir, "--input", str(empty))
    with pytest.raises(UserError, match="not found"):
        run(tiny_model_dir, "--input", str(tmp_path / "nope.txt"))


def test_long_prompt_is_cut_from_the_left_with_a_warning(tiny_model_dir, capsys):
    long_prompt = "la " * 300
    texts = run(tiny_model_dir, "--prompt", long_prompt, "--max-new-tokens", "8", "--greedy")
    assert len(texts) == 1
    assert "kept the last 120" in capsys.readouterr().err
    with pytest.raises(UserError, match="leaves no room"):
        run(tiny_model_dir, "--prompt", "hi", "--max-new-tokens", "128")


def test_stop_at_paragraph_cuts_at_the_first_blank_line(tiny_model_dir):
    texts = run(tiny_model_dir, "--prompt", "a\n\nb\n\n", "--max-new-tokens", "40", "--stop-at-paragraph")
    assert "\n\n" not in texts[0]
    assert cut_at_paragraph("\n first\nline\n\nsecond") == "first\nline"


def test_batched_left_padded_generation_equals_one_at_a_time(tiny_model_dir):
    runtime = pick_runtime(prefer_cpu=True)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), None, runtime)
    codec = make_codec(tokenizer)
    prompts = [codec.encode(t) for t in ("Short", "A somewhat longer prompt about the sea")]
    kwargs = {"max_new_tokens": 6, "do_sample": False}
    batched = generate_batch(model, codec, prompts, kwargs, runtime)
    single = [generate_batch(model, codec, [p], kwargs, runtime)[0] for p in prompts]
    assert batched == single
    sampled = generate_batch(model, codec, prompts, {"max_new_tokens": 7, "do_sample": True}, runtime)
    assert all(0 < len(ids) <= 7 for ids in sampled)


def test_missing_model_and_mismatched_tokenizer(tiny_model_dir, tokenizer_dir, tmp_path):
    with pytest.raises(UserError, match="not found"):
        run(tmp_path / "no-such-model", "--prompt", "x")
    small = tiny_gpt2(tmp_path / "small", tokenizer_dir, n_positions=32, n_embd=16)
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config.from_pretrained(small)
    config.vocab_size = 1000
    GPT2LMHeadModel(config).save_pretrained(small)
    with pytest.raises(UserError, match="has 50257 tokens but model .* has only 1000 embeddings"):
        run(small, "--prompt", "x")


def test_unknown_prompt_tokens_are_reported(tiny_bert_dir, capsys):
    from transformers import AutoTokenizer

    from gpt2ft.generation import warn_unknown_tokens

    codec = make_codec(AutoTokenizer.from_pretrained(tiny_bert_dir))
    warn_unknown_tokens(codec, codec.encode("paper lanterns"), "the prompt")
    assert capsys.readouterr().err == ""
    warn_unknown_tokens(codec, codec.encode("paper zeppelins and quasars"), "the prompt")
    assert "the prompt has 2 unknown token(s) ([UNK])" in capsys.readouterr().err
