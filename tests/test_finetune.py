import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, SAMPLE_CSV, write_csv
from safetensors.torch import load_file

import finetune
from gpt2ft.assets import tiny_gpt2
from gpt2ft.cli import UserError
from gpt2ft.training import TrainingRun

FAST = ["--data", str(SAMPLE_CSV), "--test-rows", "8", "--block-size", "64", "--batch-size", "4",
        "--lr", "3e-3", "--log-interval", "1", "--eval-interval", "3", "--save-interval", "100"]


def train(model_dir, out, *extra):
    return finetune.main(["--model", str(model_dir), "--output-dir", str(out), "--cache-dir", str(out.parent / "c"),
                          *FAST, *extra])


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def test_training_reduces_loss_and_saves_a_loadable_model(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "run"
    result = train(tiny_model_dir, out, "--max-steps", "12")
    assert result["steps"] == 12
    assert result["train_losses"][-1] < result["train_losses"][0] - 0.5
    assert result["val_losses"][-1] < result["val_losses"][0]
    printed = capsys.readouterr()
    assert "train: 15 documents" in printed.out + printed.err
    assert "useful-token ratio" in printed.out + printed.err
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert model.config.n_embd == 32 and len(tokenizer) == 50257
    for name in ("loss_curve.png", "best/model.safetensors", "checkpoint/state.pt", "checkpoint/rng-0.pt"):
        assert (out / name).is_file(), name
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (out / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_ctrl_c_saves_and_resume_matches_an_uninterrupted_run(tokenizer_dir, tmp_path, monkeypatch):
    model_dir = tiny_gpt2(tmp_path / "dropout-model", tokenizer_dir, n_positions=128, n_embd=32, dropout=0.1)
    steps = ["--max-steps", "8", "--grad-accum", "2"]
    train(model_dir, tmp_path / "full", *steps)

    real_step = TrainingRun.train_step

    def interrupt_at_step_5(self):
        if self.step == 5:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(TrainingRun, "train_step", interrupt_at_step_5)
    with pytest.raises(SystemExit) as stop:
        train(model_dir, tmp_path / "cut", *steps)
    assert stop.value.code == 130
    state = torch.load(tmp_path / "cut" / "checkpoint" / "state.pt", weights_only=True)
    assert state["step"] == 5
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    monkeypatch.setattr(TrainingRun, "train_step", real_step)

    result = train(model_dir, tmp_path / "cut", *steps, "--resume")
    assert result["steps"] == 8
    full, resumed = weights(tmp_path / "full"), weights(tmp_path / "cut")
    assert full.keys() == resumed.keys()
    for name in full:
        assert torch.equal(full[name], resumed[name]), name


def test_resume_refuses_changed_settings_or_no_checkpoint(tiny_model_dir, tmp_path):
    with pytest.raises(UserError, match="no checkpoint"):
        train(tiny_model_dir, tmp_path / "none", "--max-steps", "2", "--resume")
    train(tiny_model_dir, tmp_path / "run", "--max-steps", "2")
    with pytest.raises(UserError, match=r"--lr 0.003 \(now 0.001\)"):
        train(tiny_model_dir, tmp_path / "run", "--max-steps", "2", "--resume", "--lr", "1e-3")


def test_no_pack_pads_one_song_per_row(tiny_model_dir, tmp_path, capsys):
    result = train(tiny_model_dir, tmp_path / "run", "--max-steps", "2", "--no-pack")
    assert result["steps"] == 2
    out = capsys.readouterr().out
    packed = train(tiny_model_dir, tmp_path / "run2", "--max-steps", "2")
    assert packed["steps"] == 2
    ratio_padded = float(out.split("useful-token ratio ")[1].split()[0])
    ratio_packed = float(capsys.readouterr().out.split("useful-token ratio ")[1].split()[0])
    assert ratio_padded < ratio_packed


def test_bad_inputs(tiny_model_dir, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", [{"SName": "x"}], columns=("SName", "Text"))
    with pytest.raises(UserError, match="lacks column"):
        finetune.main(["--model", str(tiny_model_dir), "--data", str(bad)])
    with pytest.raises(UserError, match="not found"):
        finetune.main(["--model", str(tiny_model_dir), "--data", str(tmp_path / "missing.csv")])
    with pytest.raises(UserError, match="exceeds the model's context of 128"):
        train(tiny_model_dir, tmp_path / "run", "--block-size", "256")
    with pytest.raises(UserError, match="fewer than one global batch"):
        train(tiny_model_dir, tmp_path / "run", "--batch-size", "64")


def test_two_process_ddp_matches_one_process(tiny_model_dir, tmp_path):
    common = ["--model", str(tiny_model_dir), *FAST, "--max-steps", "3", "--max-grad-norm", "0", "--val-songs", "0"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
               str(ROOT / "finetune.py"), *common, "--batch-size", "2", "--output-dir", str(tmp_path / "ddp"),
               "--cache-dir", str(tmp_path / "c")]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 process(es)" in done.stdout + done.stderr
    finetune.main([*common, "--batch-size", "4", "--output-dir", str(tmp_path / "single"),
                   "--cache-dir", str(tmp_path / "c")])
    ddp, single = weights(tmp_path / "ddp"), weights(tmp_path / "single")
    for name in single:
        assert torch.allclose(ddp[name], single[name], atol=1e-5), name
    assert json.loads((tmp_path / "ddp" / "config.json").read_text())["n_embd"] == 32


def test_gradient_checkpointing_gives_the_same_step(tiny_model_dir, tmp_path):
    plain = train(tiny_model_dir, tmp_path / "plain", "--max-steps", "2")
    checkpointed = train(tiny_model_dir, tmp_path / "ckpt", "--max-steps", "2", "--gradient-checkpointing",
                         "--compile")
    assert checkpointed["train_losses"] == pytest.approx(plain["train_losses"], rel=1e-5)


def test_validation_split():
    from gpt2ft.training import split_validation

    docs = [f"song {i}" for i in range(100)]
    train_docs, val_docs = split_validation(docs, 500, seed=1)
    assert len(val_docs) == 5 and len(train_docs) == 95 and set(train_docs) | set(val_docs) == set(docs)
    assert split_validation(docs, 500, seed=1) == (train_docs, val_docs)
    assert split_validation(docs, 0, seed=1) == (docs, [])
    novel = "\n".join(f"line {i}" for i in range(40))
    head, tail = split_validation([novel], 500, seed=1)
    assert tail == ["line 38\nline 39"] and head[0].endswith("line 37")
