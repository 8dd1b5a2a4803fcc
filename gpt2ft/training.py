"""The training loop shared by every finetune script: packing, bf16 autocast, DDP, logging, exact resume."""
from __future__ import annotations

import math
import os
import random
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm.auto import tqdm

from .cli import UserError, option
from .codec import make_codec
from .files import atomic_save_dir, atomic_torch_save
from .modeling import Runtime, context_length, pick_runtime, seed_everything
from .tokens import IGNORE_INDEX, Batch, Blocks, Examples, make_blocks, tokenize_documents

Dataset = Blocks | Examples

PEAK_BF16_TFLOPS = {"4090": 165.2, "3090": 71.0, "A100": 312.0, "H100": 989.0, "H200": 989.0, "L40": 181.0,
                    "A6000": 154.8, "A10": 125.0, "V100": 125.0}
RESUME_MUST_MATCH = ("block_size", "batch_size", "grad_accum", "seed", "pack", "lr", "epochs", "max_steps",
                     "weight_decay", "warmup_ratio")


@dataclass
class TrainArgs:
    output_dir: str = option("output/lyrics", "where the fine-tuned model, checkpoints, logs and plots go")
    epochs: int = option(1, "passes over the training set (ignored when --max-steps is set)")
    max_steps: int = option(0, "stop after this many optimizer steps; 0 runs --epochs")
    block_size: int = option(1024, "tokens per training row")
    batch_size: int = option(4, "rows per device per micro-step")
    grad_accum: int = option(1, "micro-steps per optimizer step (gradient accumulation)")
    lr: float = option(3e-5, "peak learning rate (linear warm-up, then linear decay to 0)")
    warmup_ratio: float = option(0.02, "share of the steps spent warming the learning rate up")
    weight_decay: float = option(0.0, "AdamW weight decay (not applied to biases and LayerNorm)")
    max_grad_norm: float = option(1.0, "gradient clipping norm; 0 turns clipping off")
    seed: int = option(42, "seed for weights of new layers, data order and dropout")
    val_songs: int = option(500, "training documents held out for validation (at most 5%% of them; 0: none)")
    eval_interval: int = option(200, "evaluate on the validation split every N steps (and at the end)")
    save_interval: int = option(500, "write a resumable checkpoint every N steps (and at the end)")
    log_interval: int = option(10, "log loss, learning rate, tokens/s and MFU every N steps")
    resume: bool = option(False, "continue from OUTPUT_DIR/checkpoint exactly where it stopped")
    pack: bool = option(True, "pack documents into full blocks (--no-pack: one document per padded row)")
    compile: bool = option(False, "torch.compile the model (CUDA only)")
    gradient_checkpointing: bool = option(False, "recompute activations in backward to fit big models")
    peak_tflops: float | None = option(None, "the accelerator's bf16 peak for MFU (default: looked up by name)")


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(runtime: Runtime) -> DistInfo:
    """Join the torchrun process group when WORLD_SIZE > 1 (NCCL on CUDA, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world == 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if runtime.device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size())


def split_validation(docs: Sequence[str], count: int, seed: int) -> tuple[list[str], list[str]]:
    """Hold out a seeded random `count` documents, at most 5% of them but at least one (count 0: none).

    A single document (a novel) gives its last 5% of lines instead."""
    if count <= 0 or not docs:
        return list(docs), []
    if len(docs) == 1:
        lines = docs[0].split("\n")
        cut = len(lines) - len(lines) // 20
        return (["\n".join(lines[:cut])], ["\n".join(lines[cut:])]) if cut < len(lines) else (list(docs), [])
    n_val = min(count, max(1, len(docs) // 20))
    order = torch.randperm(len(docs), generator=torch.Generator().manual_seed(seed)).tolist()
    held = set(order[:n_val])
    return [d for i, d in enumerate(docs) if i not in held], [d for i, d in enumerate(docs) if i in held]


def is_main_process() -> bool:
    """True outside torchrun and on its rank 0."""
    return int(os.environ.get("RANK", 0)) == 0


def flops_per_token(model, block_size: int) -> float:
    """Training FLOPs per token: 6N for the weights plus the attention term (PaLM appendix B)."""
    config = model.config
    params = sum(p.numel() for p in model.parameters())
    return 6 * params + 12 * config.n_layer * config.n_embd * block_size


def peak_flops(runtime: Runtime, override_tflops: float | None) -> float | None:
    """The card's bf16 peak in FLOP/s, from --peak-tflops or the device name; None on CPU or unknown cards."""
    if override_tflops:
        return override_tflops * 1e12
    if runtime.device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(runtime.device)
    for key, tflops in PEAK_BF16_TFLOPS.items():
        if key in name:
            return tflops * 1e12
    return None


def linear_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float):
    """Linear warm-up to the peak learning rate, then linear decay to zero at the last step."""
    warmup = int(warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def make_optimizer(model, args: TrainArgs, runtime: Runtime) -> torch.optim.AdamW:
    """Fused AdamW (CUDA and CPU kernels) with weight decay on matrices only."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=args.lr, fused=runtime.device.type in ("cuda", "cpu"))


def lm_loss(model, batch: Batch, runtime: Runtime, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of the model's next-token logits against the targets (IGNORE_INDEX positions skipped)."""
    with runtime.autocast():
        logits = model(input_ids=batch.inputs, token_type_ids=batch.token_types).logits
    return F.cross_entropy(logits.float().flatten(0, 1), batch.targets.flatten(), ignore_index=IGNORE_INDEX,
                           reduction=reduction)


@torch.no_grad()
def evaluate_loss(model, blocks: Dataset, batch_size: int, runtime: Runtime, info: DistInfo) -> float:
    """Token-weighted mean loss over the blocks, shared out across processes."""
    model.eval()
    totals = torch.zeros(2, dtype=torch.float64, device=runtime.device)
    rows = range(info.rank, len(blocks), info.world)
    for start in range(0, len(rows), batch_size):
        batch = blocks.batch(torch.tensor(rows[start:start + batch_size])).to(runtime.device)
        totals[0] += lm_loss(model, batch, runtime, reduction="sum").double()
        totals[1] += (batch.targets != IGNORE_INDEX).sum()
    if info.world > 1:
        dist.all_reduce(totals)
    model.train()
    return float(totals[0] / totals[1].clamp(min=1))


def capture_rng(device: torch.device) -> dict:
    """Everything random that training draws from, to restore on resume."""
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict, device: torch.device) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


class TrainingRun:
    """One fine-tuning run over prepared blocks; call fit()."""

    def __init__(self, model, tokenizer, train_blocks: Dataset, val_blocks: Dataset | None, args: TrainArgs,
                 runtime: Runtime, info: DistInfo):
        self.raw_model, self.tokenizer, self.args, self.runtime, self.info = model, tokenizer, args, runtime, info
        self.train_blocks, self.val_blocks = train_blocks, val_blocks
        self.out = Path(args.output_dir)
        self.ckpt_dir = self.out / "checkpoint"
        self.global_batch = args.batch_size * args.grad_accum * info.world
        self.steps_per_epoch = len(train_blocks) // self.global_batch
        if self.steps_per_epoch == 0:
            raise UserError(f"the training set has {len(train_blocks)} blocks, fewer than one global batch of "
                            f"{self.global_batch} (batch-size x grad-accum x processes): lower --batch-size or "
                            "--block-size, or add data")
        self.total_steps = args.max_steps if args.max_steps > 0 else args.epochs * self.steps_per_epoch
        if args.gradient_checkpointing:
            model.activation_checkpointing_enable()
            model.config.use_cache = False
        self.optimizer = make_optimizer(model, args, runtime)
        self.scheduler = linear_schedule(self.optimizer, self.total_steps, args.warmup_ratio)
        self.model = model
        if args.compile and runtime.device.type == "cuda":
            self.model = torch.compile(self.model)
        elif args.compile:
            self.log("note: --compile is for CUDA; training on the CPU without it")
        if info.world > 1:
            device_ids = [runtime.device.index] if runtime.device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        self.step = 0
        self.best_val = math.inf
        self.history: dict[str, list] = {"train": [], "val": []}
        self.flops_per_token = flops_per_token(model, args.block_size)
        self.peak = peak_flops(runtime, args.peak_tflops)
        self._perm_epoch, self._perm = -1, None
        self.positions_seen = self.loss_tokens_seen = 0

    def log(self, message: str) -> None:
        if self.info.is_main:
            tqdm.write(message)

    def describe(self) -> None:
        self.log(self.train_blocks.summary("train"))
        if self.val_blocks is not None:
            self.log(self.val_blocks.summary("validation"))
        dropped = len(self.train_blocks) - self.steps_per_epoch * self.global_batch
        self.log(f"global batch {self.global_batch} rows ({self.info.world} process(es)), "
                 f"{self.steps_per_epoch} steps/epoch ({dropped} rows left out per epoch), "
                 f"{self.total_steps} steps in all, device {self.runtime.device}, "
                 f"{'bf16 autocast' if self.runtime.autocast_dtype else 'fp32'}")

    def batch_rows(self, step: int, micro: int) -> torch.Tensor:
        """Row indices of this process's micro-batch; the order depends only on seed, epoch and step."""
        epoch, offset = divmod(step, self.steps_per_epoch)
        if epoch != self._perm_epoch:
            generator = torch.Generator().manual_seed(self.args.seed + epoch)
            self._perm, self._perm_epoch = torch.randperm(len(self.train_blocks), generator=generator), epoch
        b = self.args.batch_size
        start = offset * self.global_batch + (self.info.rank * self.args.grad_accum + micro) * b
        return self._perm[start:start + b]

    def train_step(self) -> torch.Tensor:
        """One optimizer step over grad_accum micro-batches; returns the mean loss (on device, no sync)."""
        total = torch.zeros((), device=self.runtime.device)
        for micro in range(self.args.grad_accum):
            host_batch = self.train_blocks.batch(self.batch_rows(self.step, micro))
            self.positions_seen += host_batch.inputs.numel() * self.info.world
            self.loss_tokens_seen += int((host_batch.targets != IGNORE_INDEX).sum()) * self.info.world
            batch = host_batch.to(self.runtime.device)
            last = micro == self.args.grad_accum - 1
            sync = nullcontext() if last or self.info.world == 1 else self.model.no_sync()
            with sync:
                loss = lm_loss(self.model, batch, self.runtime)
                (loss / self.args.grad_accum).backward()
            total += loss.detach()
        if self.args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total / self.args.grad_accum

    def save_checkpoint(self, rng_state: dict) -> None:
        """Write this process's RNG state, then (main process) model, optimizer, scheduler and step."""
        atomic_torch_save({"step": self.step, "rng": rng_state}, self.ckpt_dir / f"rng-{self.info.rank}.pt")
        if not self.info.is_main:
            return
        state = {"model": self.raw_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "step": self.step, "best_val": self.best_val,
                 "history": self.history, "args": asdict(self.args)}
        atomic_torch_save(state, self.ckpt_dir / "state.pt")

    def load_checkpoint(self) -> None:
        """Restore everything save_checkpoint wrote, refusing settings that would change the data order."""
        path = self.ckpt_dir / "state.pt"
        if not path.is_file():
            raise UserError(f"--resume: no checkpoint at {path}; run without --resume to start fresh")
        state = torch.load(path, weights_only=True, map_location="cpu")
        saved = state["args"]
        changed = [k for k in RESUME_MUST_MATCH if saved.get(k) != getattr(self.args, k)]
        if changed:
            diffs = ", ".join(f"--{k.replace('_', '-')} {saved.get(k)} (now {getattr(self.args, k)})" for k in changed)
            raise UserError(f"--resume: the checkpoint was made with {diffs}; use the same values")
        self.raw_model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.best_val, self.history = state["step"], state["best_val"], state["history"]
        rng_path = self.ckpt_dir / f"rng-{self.info.rank}.pt"
        rng = torch.load(rng_path, weights_only=True) if rng_path.is_file() else None
        if rng is not None and rng["step"] == self.step:
            rng_state = rng["rng"]
            rng_state["python"] = _tuples(rng_state["python"])
            restore_rng(rng_state, self.runtime.device)
        else:
            self.log(f"warning: no RNG state for step {self.step} in {self.ckpt_dir}; reseeding")
            seed_everything(self.args.seed + self.step + self.info.rank)
        self.log(f"resumed from {self.ckpt_dir} at step {self.step}")

    def save_model(self, folder: Path) -> None:
        """save_pretrained model and tokenizer into folder, swapped in atomically."""
        def write(tmp: Path) -> None:
            self.raw_model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)

        atomic_save_dir(write, folder)

    def save_final(self) -> None:
        """The final model at the top of output_dir, each file replaced atomically."""
        staging = self.out / ".final"
        self.save_model(staging)
        for item in staging.iterdir():
            os.replace(item, self.out / item.name)
        staging.rmdir()

    def validate(self, writer) -> None:
        if self.val_blocks is None or len(self.val_blocks) == 0:
            return
        val = evaluate_loss(self.model, self.val_blocks, self.args.batch_size, self.runtime, self.info)
        self.history["val"].append({"step": self.step, "loss": val})
        improved = val < self.best_val
        self.log(f"step {self.step}: validation loss {val:.4f}, ppl {math.exp(min(val, 50)):.2f}"
                 + (" (best so far, saved to best/)" if improved else ""))
        if writer is not None:
            writer.add_scalar("val/loss", val, self.step)
            writer.add_scalar("val/ppl", math.exp(min(val, 50)), self.step)
        if improved:
            self.best_val = val
            if self.info.is_main:
                self.save_model(self.out / "best")

    def fit(self) -> dict:
        """Train to total_steps; Ctrl-C writes a checkpoint before exiting."""
        if self.args.resume:
            self.load_checkpoint()
        writer = self._writer()
        self.model.train()
        window_loss, window_steps, window_start = torch.zeros((), device=self.runtime.device), 0, time.perf_counter()
        bar = tqdm(total=self.total_steps, initial=self.step, desc="training", unit="step",
                   disable=not self.info.is_main)
        rng_state = capture_rng(self.runtime.device)
        try:
            while self.step < self.total_steps:
                window_loss += self.train_step()
                self.step += 1
                rng_state = capture_rng(self.runtime.device)
                window_steps += 1
                bar.update(1)
                if self.step % self.args.log_interval == 0 or self.step == self.total_steps:
                    elapsed = time.perf_counter() - window_start
                    self._log_train(writer, float(window_loss) / window_steps, self.positions_seen / elapsed,
                                    self.loss_tokens_seen / elapsed, bar)
                    self.positions_seen = self.loss_tokens_seen = 0
                    window_loss.zero_()
                    window_steps, window_start = 0, time.perf_counter()
                if self.step % self.args.eval_interval == 0 or self.step == self.total_steps:
                    self.validate(writer)
                if self.step % self.args.save_interval == 0 or self.step == self.total_steps:
                    self.save_checkpoint(rng_state)
        except KeyboardInterrupt:
            bar.close()
            self.save_checkpoint(rng_state)
            self.write_plot()
            self.log(f"interrupted: checkpoint at step {self.step} saved to {self.ckpt_dir}; "
                     "run again with --resume to continue")
            raise SystemExit(130) from None
        bar.close()
        if writer is not None:
            writer.close()
        if self.info.is_main:
            self.save_final()
            self.write_plot()
        train_losses = [h["loss"] for h in self.history["train"]]
        return {"steps": self.step, "train_losses": train_losses, "best_val_loss": self.best_val,
                "val_losses": [h["loss"] for h in self.history["val"]]}

    def _writer(self):
        if not self.info.is_main:
            return None
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(self.out / "tensorboard"), purge_step=self.step if self.step else None)

    def _log_train(self, writer, loss: float, positions_per_s: float, useful_per_s: float, bar) -> None:
        lr = self.scheduler.get_last_lr()[0]
        self.history["train"].append({"step": self.step, "loss": loss, "lr": lr})
        message = (f"step {self.step}/{self.total_steps}: loss {loss:.4f}, lr {lr:.2e}, "
                   f"{positions_per_s:,.0f} tokens/s ({useful_per_s:,.0f} loss-bearing)")
        if self.peak:
            mfu = self.flops_per_token * positions_per_s / (self.peak * self.info.world)
            message += f", MFU {100 * mfu:.1f}%"
            if writer is not None:
                writer.add_scalar("train/mfu", mfu, self.step)
        self.log(message)
        bar.set_postfix(loss=f"{loss:.3f}")
        if writer is not None:
            writer.add_scalar("train/loss", loss, self.step)
            writer.add_scalar("train/lr", lr, self.step)
            writer.add_scalar("train/tokens_per_s", positions_per_s, self.step)

    def write_plot(self) -> None:
        """Loss curve (train and validation) as output_dir/loss_curve.png."""
        if not self.info.is_main or not self.history["train"]:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot([h["step"] for h in self.history["train"]], [h["loss"] for h in self.history["train"]],
                label="train")
        if self.history["val"]:
            ax.plot([h["step"] for h in self.history["val"]], [h["loss"] for h in self.history["val"]],
                    "o-", label="validation")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend()
        ax.grid(alpha=0.3)
        self.out.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.out / "loss_curve.png", dpi=100, bbox_inches="tight")
        plt.close(fig)


def report_unknown(ids: Sequence[Sequence[int]], codec, name: str) -> str | None:
    """How many tokens of the corpus the tokenizer could not represent, if any."""
    if codec.unk_id is None:
        return None
    unknown = sum(doc.count(codec.unk_id) for doc in ids)
    total = sum(len(doc) for doc in ids)
    return f"{name}: {unknown} unknown tokens ({100 * unknown / max(1, total):.3f}%)" if unknown else None


BuildModel = Callable[[Runtime], tuple]
MakeData = Callable[[object], tuple]


def run_training(build: BuildModel, make_data: MakeData, args: TrainArgs) -> dict:
    """Set up devices and processes, build the model, lay out the data, train and save.

    build(runtime) returns (model, tokenizer); make_data(codec) returns (train, validation or None)."""
    runtime = pick_runtime()
    info = init_distributed(runtime)
    seed_everything(args.seed + info.rank)
    model, tokenizer = build(runtime)
    codec = make_codec(tokenizer)
    if args.block_size > context_length(model):
        raise UserError(f"--block-size {args.block_size} exceeds the model's context of {context_length(model)}")
    train_data, val_data = make_data(codec)
    trainer = TrainingRun(model, tokenizer, train_data, val_data, args, runtime, info)
    trainer.describe()
    try:
        return trainer.fit()
    finally:
        if info.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def run_finetune(train_docs: Sequence[str], val_docs: Sequence[str], build: BuildModel, args: TrainArgs,
                 cache_dir: str | Path | None, stride: int = 0) -> dict:
    """Fine-tune on plain documents: tokenize (cached), pack (or pad, or window with stride > 0), train."""

    def make_data(codec):
        train_ids = tokenize_documents(train_docs, codec, cache_dir, desc="tokenizing train")
        val_ids = tokenize_documents(val_docs, codec, cache_dir, desc="tokenizing validation") if val_docs else []
        unknown = report_unknown(train_ids, codec, "train")
        if unknown and is_main_process():
            print(unknown)
        train_blocks = make_blocks(train_ids, codec, args.block_size, args.pack, stride)
        val_blocks = make_blocks(val_ids, codec, args.block_size, args.pack, stride) if val_ids else None
        return train_blocks, val_blocks

    return run_training(build, make_data, args)
