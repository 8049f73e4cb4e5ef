"""Train the offline captcha model on generated captchas and export it to ONNX.

Trained only on `testsupport/imagegen/captcha_styles.py` captchas (never on real ones);
held-out captchas of other seeds show how well it generalises per style. Torch is needed
here only, never at run time: install it in a separate environment, e.g.

    python3 -m venv /tmp/train-venv
    /tmp/train-venv/bin/pip install torch numpy pillow onnx onnxscript captcha==0.7.1
    # the committed model: 4 epochs from scratch, then 3 more on fresh captchas with
    # twice as many extruded and thin ones (~30 + ~20 min on two busy cores)
    PYTHONPATH=src:. /tmp/train-venv/bin/python scripts/train_captcha_model.py --seed 15 \
        --per-style 4000 --held-out 100 --epochs 4 --lr 3e-3 --state /tmp/r2.pt --out /tmp/r2.onnx
    PYTHONPATH=src:. /tmp/train-venv/bin/python scripts/train_captcha_model.py --seed 16 \
        --init /tmp/r2.pt --per-style 3500 --more extruded,thin --held-out 100 --epochs 3 \
        --lr 1.5e-3

writes src/notelens/pipeline/models/captcha.onnx (the command is also in its ONNX metadata).
Held-out seeds start at 10 M, training seeds at seed × 100 000: the two never meet.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from notelens.pipeline import local_codes
from notelens.pipeline.captcha_model import CHARS, HEIGHT, MODEL_PATH, TABLE, WIDTH, prepare
from testsupport.imagegen.captcha_styles import STYLES, generate

HELD_OUT = 10_000_000  # held-out seeds start here; training seeds are below (seed × 100 000 on)
STEPS = WIDTH // 4


def _grey(style_seed: tuple[str, int]) -> tuple[np.ndarray, str]:
    img, text = generate(*style_seed)
    grey = img.convert("L").resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)
    return np.asarray(grey, np.uint8), text.lower()


def make_set(
    styles: list[str], per_style: int, first_seed: int, workers: int
) -> tuple[np.ndarray, list[str], list[str]]:
    jobs = [(s, first_seed + i) for i in range(per_style) for s in styles]
    with multiprocessing.Pool(workers) as pool:
        out = pool.map(_grey, jobs, chunksize=256)
    return np.stack([a for a, _ in out]), [t for _, t in out], [s for s, _ in jobs]


def standardise(batch: torch.Tensor) -> torch.Tensor:
    """As `captcha_model.prepare` does, for a batch of uint8 greys (B×H×W)."""
    x = batch.float() / 255.0
    mean = x.mean(dim=(1, 2), keepdim=True)
    std = x.std(dim=(1, 2), keepdim=True, unbiased=False)
    return ((x - mean) / (std + 0.05)).unsqueeze(1)


def _block(i: int, o: int) -> list[nn.Module]:
    return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class Crnn(nn.Module):
    """Conv stack to one row of STEPS columns, a small bidirectional GRU, CTC classes."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            # the first layer strides: full-size activations are what costs most on a CPU
            nn.Conv2d(1, 24, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(24),
            nn.ReLU(inplace=True),
            *_block(24, 32),
            nn.MaxPool2d(2),
            *_block(32, 64),
            *_block(64, 64),
            nn.MaxPool2d((2, 1)),
            *_block(64, 96),
            nn.MaxPool2d((2, 1)),
            nn.Conv2d(96, 128, (HEIGHT // 16, 1), bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
        )
        self.rnn = nn.GRU(128, 64, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(128, len(TABLE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x).squeeze(2).permute(0, 2, 1)  # B × STEPS × C
        f, _ = self.rnn(f)
        return self.head(self.drop(f))  # logits, B × STEPS × classes


class Exported(nn.Module):
    def __init__(self, net: Crnn) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=-1)


def targets(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    index = {c: i + 1 for i, c in enumerate(CHARS)}
    flat = [index[c] for t in texts for c in t]
    return torch.tensor(flat, dtype=torch.long), torch.tensor([len(t) for t in texts])


def evaluate(net: Crnn, greys: np.ndarray, texts: list[str]) -> tuple[float, float]:
    """(exact without hints, exact told the length) on uint8 greys."""
    net.eval()
    free = told = 0
    with torch.no_grad():
        for i in range(0, len(greys), 256):
            probs = torch.softmax(net(standardise(torch.from_numpy(greys[i : i + 256]))), -1)
            for p, want in zip(probs.numpy().astype(np.float64), texts[i : i + 256], strict=True):
                free += local_codes.decode(p, TABLE, length=None, alphabet=CHARS).text == want
                told += local_codes.decode(p, TABLE, length=len(want), alphabet=CHARS).text == want
    net.train()
    return free / len(texts), told / len(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-style", type=int, default=12000)
    ap.add_argument("--more", default="", help="styles given twice as many, e.g. extruded,thin")
    ap.add_argument("--held-out", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--init", type=Path, help="start from these weights (a --state file)")
    ap.add_argument("--state", type=Path, help="also save the torch weights here")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    styles = list(STYLES)

    t0 = time.monotonic()
    greys, texts, _ = make_set(styles, args.per_style, args.seed * 100_000, args.workers)
    if args.more:
        more = make_set(
            args.more.split(","), args.per_style, args.seed * 100_000 + 50_000, args.workers
        )
        greys, texts = np.concatenate([greys, more[0]]), texts + more[1]
    test = {s: make_set([s], args.held_out, HELD_OUT + args.seed, args.workers) for s in styles}
    print(f"generated {len(greys)} training captchas in {time.monotonic() - t0:.0f} s", flush=True)

    net = Crnn()
    if args.init:
        net.load_state_dict(torch.load(args.init))
    params = sum(p.numel() for p in net.parameters())
    print(f"model: {params} parameters", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    batches = len(greys) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * batches, pct_start=0.15
    )
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    gen = torch.Generator().manual_seed(args.seed)
    t1 = time.monotonic()
    for epoch in range(args.epochs):
        order = torch.randperm(len(greys), generator=gen).numpy()
        total = 0.0
        for b in range(batches):
            idx = order[b * args.batch : (b + 1) * args.batch]
            x = standardise(torch.from_numpy(greys[idx]))
            flat, lengths = targets([texts[i] for i in idx])
            logp = net(x).log_softmax(-1).permute(1, 0, 2)  # STEPS × B × classes
            steps = torch.full((len(idx),), STEPS, dtype=torch.long)
            loss = ctc(logp, flat, steps, lengths)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            total += float(loss.detach())
        scores = {s: evaluate(net, g, t) for s, (g, t, _) in test.items()}
        line = " ".join(f"{s} {a:.0%}/{b:.0%}" for s, (a, b) in scores.items())
        print(
            f"epoch {epoch + 1}: loss {total / batches:.3f}; held-out exact free/told length:"
            f" {line}; {time.monotonic() - t1:.0f} s",
            flush=True,
        )
    print(f"training took {time.monotonic() - t1:.0f} s ({time.monotonic() - t0:.0f} s with data)")

    net.eval()
    if args.state:
        torch.save(net.state_dict(), args.state)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.from_numpy(prepare(Image.new("L", (WIDTH, HEIGHT), 255)))
    torch.onnx.export(
        Exported(net),
        (dummy,),
        str(args.out),
        input_names=["image"],
        output_names=["probs"],
        dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    import onnx

    model = onnx.load(str(args.out))
    meta = model.metadata_props.add()
    meta.key, meta.value = "trained_by", " ".join(["scripts/train_captcha_model.py", *sys.argv[1:]])
    onnx.save(model, str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
