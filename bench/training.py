"""Training throughput of three contenders on the same songs and model shape.

published: one song per row padded to the block, padding in the loss, fp32, plain AdamW.
trainer:   transformers.Trainer with run_clm.py-style group_texts packing and default TrainingArguments.
ours:      finetune.py's path (gpt2ft.training.TrainingRun) with its defaults: packed blocks, bf16 and fused AdamW
           on CUDA.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from typing import Sequence

import torch

from gpt2ft.modeling import Runtime
from gpt2ft.tokens import pack_blocks
from gpt2ft.training import DistInfo, TrainArgs, TrainingRun, flops_per_token, peak_flops

from .timing import PeakMemory, interleaved_medians, sync


@dataclass
class Contender:
    name: str
    useful_ratio: float
    positions_per_step: int
    memory: PeakMemory

    def run(self, steps: int) -> float:
        raise NotImplementedError


class Published(Contender):
    def __init__(self, model, docs: Sequence[list[int]], eos: int, block: int, batch: int, runtime: Runtime):
        rows = [doc[:block] + [eos] * (block - len(doc[:block])) for doc in docs]
        self.inputs = torch.tensor(rows)
        useful = sum(min(len(doc), block - 1) for doc in docs)
        super().__init__("published", useful / (len(rows) * block), batch * block, PeakMemory(runtime.device))
        self.model, self.batch, self.runtime = model, batch, runtime
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
        self.cursor = 0

    def run(self, steps: int) -> float:
        self.model.train()
        with self.memory.measure():
            sync(self.runtime.device)
            start = time.perf_counter()
            for _ in range(steps):
                index = torch.arange(self.cursor, self.cursor + self.batch) % len(self.inputs)
                self.cursor += self.batch
                x = self.inputs[index].to(self.runtime.device)
                self.model(input_ids=x, labels=x).loss.backward()
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            sync(self.runtime.device)
            return time.perf_counter() - start


def group_texts(docs: Sequence[list[int]], block: int) -> list[dict]:
    """run_clm.py's packing: concatenate all token ids and cut full blocks, dropping the remainder."""
    stream = [t for doc in docs for t in doc]
    usable = len(stream) // block * block
    return [{"input_ids": stream[i:i + block], "labels": stream[i:i + block]} for i in range(0, usable, block)]


class HfTrainer(Contender):
    def __init__(self, model, docs: Sequence[list[int]], block: int, batch: int, steps: int, runtime: Runtime):
        from transformers import Trainer, TrainerCallback, TrainingArguments

        contender = self

        class StepTimer(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                if contender.started is None:
                    sync(runtime.device)
                    contender.started = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                sync(runtime.device)
                contender.ended = time.perf_counter()

        dataset = group_texts(docs, block)
        super().__init__("trainer", (block - 1) / block, batch * block, PeakMemory(runtime.device))
        args = TrainingArguments(output_dir=tempfile.mkdtemp(prefix="bench-trainer-"),
                                 per_device_train_batch_size=batch, max_steps=steps, report_to="none",
                                 save_strategy="no", logging_strategy="no", disable_tqdm=True,
                                 use_cpu=runtime.device.type == "cpu")
        self.trainer = Trainer(model=model, args=args, train_dataset=dataset, callbacks=[StepTimer()])
        self.started = self.ended = None

    def run(self, steps: int) -> float:
        self.started = None
        with self.memory.measure():
            self.trainer.train()
        return self.ended - self.started


class Ours(Contender):
    def __init__(self, model, tokenizer, docs: Sequence[list[int]], eos: int, block: int, batch: int,
                 runtime: Runtime, compile_model: bool):
        blocks = pack_blocks(docs, eos, eos, block)
        super().__init__("ours", blocks.useful_ratio, batch * block, PeakMemory(runtime.device))
        args = TrainArgs(output_dir=tempfile.mkdtemp(prefix="bench-ours-"), block_size=block, batch_size=batch,
                         max_steps=10**9, compile=compile_model)
        self.run_state = TrainingRun(model, tokenizer, blocks, None, args, runtime, DistInfo())
        self.runtime = runtime

    def run(self, steps: int) -> float:
        self.run_state.model.train()
        with self.memory.measure():
            sync(self.runtime.device)
            start = time.perf_counter()
            for _ in range(steps):
                self.run_state.train_step()
                self.run_state.step += 1
            sync(self.runtime.device)
            return time.perf_counter() - start


def bench_training(load_model, tokenizer, docs: Sequence[list[int]], block: int, batch: int, steps: int,
                   repetitions: int, runtime: Runtime, compile_model: bool = False) -> dict:
    """Useful tokens/s, positions/s, useful-token ratio, peak memory and MFU of each contender; medians."""
    eos = tokenizer.eos_token_id
    contenders = [Published(load_model(), docs, eos, block, batch, runtime),
                  HfTrainer(load_model(), docs, block, batch, steps, runtime),
                  Ours(load_model(), tokenizer, docs, eos, block, batch, runtime, compile_model)]
    seconds = interleaved_medians({c.name: (lambda c=c: c.run(steps)) for c in contenders}, repetitions)
    model = contenders[0].model
    peak = peak_flops(runtime, None)
    results = {}
    for c in contenders:
        positions_per_s = c.positions_per_step * steps / seconds[c.name]
        results[c.name] = {
            "positions_per_s": positions_per_s,
            "useful_tokens_per_s": positions_per_s * c.useful_ratio,
            "useful_token_ratio": c.useful_ratio,
            "peak_memory_mib": c.memory.peak_bytes / 2**20,
            "mfu": flops_per_token(model, block) * positions_per_s / peak if peak else None,
            "seconds_per_step": seconds[c.name] / steps,
        }
    return results
