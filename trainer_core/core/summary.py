"""A small model summary table (what `weights_summary='top'|'full'` prints at fit start)."""

from torch import nn

from trainer_core.exceptions import MisconfigurationException


def _count(module: nn.Module) -> tuple[int, int]:
    total = trainable = 0
    for p in module.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return total, trainable


def summarize(model: nn.Module, mode: str = "top") -> str:
    if mode not in ("top", "full"):
        raise MisconfigurationException(f"weights_summary={mode!r}: use 'top', 'full' or None.")
    rows = [
        (name, type(child).__name__, _count(child)[0])
        for name, child in (
            model.named_children()
            if mode == "top"
            else ((n, m) for n, m in model.named_modules() if n)
        )
    ]
    width = max([len("Name"), *(len(r[0]) for r in rows)])
    twidth = max([len("Type"), *(len(r[1]) for r in rows)])
    lines = [f"  | {'Name':<{width}} | {'Type':<{twidth}} | Params", "-" * (width + twidth + 20)]
    for i, (name, kind, count) in enumerate(rows):
        lines.append(f"{i:<2}| {name:<{width}} | {kind:<{twidth}} | {human_count(count)}")
    total, trainable = _count(model)
    lines.append("-" * (width + twidth + 20))
    lines.append(f"{human_count(trainable)} Trainable params")
    lines.append(f"{human_count(total - trainable)} Non-trainable params")
    lines.append(f"{human_count(total)} Total params")
    return "\n".join(lines)


def human_count(n: int) -> str:
    for unit, scale in (("M", 1_000_000), ("K", 1_000)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return str(n)
