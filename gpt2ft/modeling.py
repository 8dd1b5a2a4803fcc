"""Device, precision and attention choices made at run time, and checked loading of models and tokenizers."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from .cli import UserError


@dataclass
class Runtime:
    device: torch.device
    autocast_dtype: torch.dtype | None

    def autocast(self):
        """bf16 autocast on CUDA cards that support it; a no-op context elsewhere."""
        enabled = self.autocast_dtype is not None
        return torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32, enabled=enabled)


def pick_runtime(prefer_cpu: bool = False) -> Runtime:
    """CUDA (this process's local rank) with bf16 when available, else CPU in fp32."""
    if torch.cuda.is_available() and not prefer_cpu:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        return Runtime(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else None)
    return Runtime(torch.device("cpu"), None)


def seed_everything(seed: int) -> None:
    """Seed Python and torch (all devices) so sampling and dropout repeat."""
    random.seed(seed)
    torch.manual_seed(seed)


def _check_local(name: str, what: str) -> None:
    path = Path(name).expanduser()
    local_looking = name.startswith((".", "/", "~")) or len(path.parts) > 2 or (
        len(path.parts) == 2 and Path(path.parts[0]).is_dir())
    if local_looking and not path.exists():
        raise UserError(f"{what} '{name}' not found: pass --{what} with a folder or a hub id")


def load_tokenizer(name: str):
    """AutoTokenizer from a folder or hub id; a pad token is set to EOS when the tokenizer has none."""
    from transformers import AutoTokenizer

    _check_local(name, "tokenizer")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise UserError(f"could not load tokenizer '{name}': {str(error).splitlines()[0]} "
                        "(offline? pass --tokenizer with a local folder)") from None
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(name: str, runtime: Runtime | None = None):
    """AutoModelForCausalLM in fp32 with sdpa attention, on the runtime's device, in eval mode."""
    from transformers import AutoModelForCausalLM

    _check_local(name, "model")
    try:
        model = AutoModelForCausalLM.from_pretrained(name, attn_implementation="sdpa", dtype=torch.float32)
    except (OSError, ValueError) as error:
        raise UserError(f"could not load model '{name}': {str(error).splitlines()[0]} "
                        "(offline? pass --model with a local folder)") from None
    if runtime is not None:
        model.to(runtime.device)
    return model.eval()


def check_vocab(model, tokenizer, model_name: str, tokenizer_name: str) -> None:
    """Refuse a tokenizer that can produce ids the model has no embedding for."""
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise UserError(f"tokenizer '{tokenizer_name}' has {len(tokenizer)} tokens but model '{model_name}' has "
                        f"only {rows} embeddings: pass the --tokenizer the model was trained with")


def load_model_and_tokenizer(model_name: str, tokenizer_name: str | None, runtime: Runtime | None = None):
    """Load both (tokenizer defaults to the model's own) and check that they fit together."""
    tokenizer_name = tokenizer_name or model_name
    tokenizer = load_tokenizer(tokenizer_name)
    model = load_model(model_name, runtime)
    check_vocab(model, tokenizer, model_name, tokenizer_name)
    return model, tokenizer


def context_length(model) -> int:
    """How many positions the model can attend over."""
    config = model.config
    return int(getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings"))
