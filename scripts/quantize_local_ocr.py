"""Make the int8 copies of the offline OCR models that `notelens.pipeline.local_ocr` loads.

    PYTHONPATH=src:. python scripts/quantize_local_ocr.py [--out src/notelens/pipeline/models]

Needs `onnx` besides the project's dependencies (a tool, not a runtime dependency).

Why: on one CPU core the float detector and recogniser are nearly all of the time spent on
a page photo. Static int8 quantisation of their convolutions (per channel, QDQ) ran the
detector 2.8× faster on one core (0.35 s vs 0.97 s on a 1 MP input, a CPU with AVX512-VNNI)
but the recogniser only 1.2-1.5× (its time is also in attention, GELU and the softmax over
18 710 characters, which stay float).

Calibration uses only images this project generates (testsupport/imagegen: text pages with
photo distortions, page photos on desks, receipt-like narrow lists): never real images.
The float engine reads them and every detector and recogniser input it builds is recorded,
so the ranges are those of the inputs the engine really makes.

Only the detector's copy is shipped (`--models det`, the default): it reads the real page
photos and receipts as the float one does (receipts CER 3.27% vs 3.24%, page photos with
pages found first 0.47% vs 0.46%) in about a third of the time. The recogniser's int8 copy
(`--models rec`) cost accuracy on receipts (4.32% vs 3.24%: thin digits and punctuation) and
is not shipped.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from notelens.pipeline import local_ocr

OPSET = 13  # per-channel DequantizeLinear needs opset 13; the bundled models are opset 11


def calibration_images(seed: int) -> list[Image.Image]:
    """Generated pages and photos in the shapes the engine meets (no real images)."""
    from benchmarks.local_ocr import make_pages
    from testsupport.imagegen import distort
    from testsupport.imagegen import pages as page_photos
    from testsupport.imagegen.text import render_lines

    images = [page.render() for page in make_pages(seed, quick=False)]
    images += [page_photos.scene(seed + k).image for k in range(4)]
    rng = random.Random(seed)
    for k in range(4):  # narrow receipt-like lists: short lines, digits, colons and prices
        lines = ["SHOP NAME SDN BHD", "GST ID: 00123456789", ""]
        for _ in range(rng.randint(10, 18)):
            item = rng.choice(["SUGAR 1KG", "TEA", "RICE 5KG", "PEN BLUE", "NOODLE", "MILK"])
            qty, price = rng.randint(1, 9), rng.randint(50, 9999) / 100
            lines.append(f"{item:<12} {qty} x {price:.2f}  {qty * price:8.2f}")
        lines += ["", f"TOTAL: RM {rng.randint(100, 99999) / 100:.2f}", "DATE: 25/12/2018 10:41"]
        img = render_lines(lines, font_name="en-dejavu", size=rng.randint(18, 26))
        images.append(distort.apply(img, rng.choice(["clean", "blur+noise"]), seed + k))
    return images


def record_inputs(images: list[Image.Image]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The detector's and recogniser's input tensors while the float engine reads `images`."""
    engine = local_ocr.LocalOcrEngine(workers=1, quantized=False)
    rapid = engine._engine()
    seen: dict[str, list[np.ndarray]] = {"det": [], "rec": []}
    for name, loader in (("det", "_load_det_model"), ("rec", "_load_rec_model")):
        model = getattr(rapid, loader)()
        session = model.session

        def recording(x: np.ndarray, session: Any = session, name: str = name) -> Any:
            seen[name].append(x.copy())
            return session(x)

        model.session = recording
    for img in images:
        engine.recognize(img)
    return seen["det"], seen["rec"]


class _Reader:
    """onnxruntime's calibration data reader over recorded inputs."""

    def __init__(self, inputs: list[np.ndarray]) -> None:
        self._it = iter(inputs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._it, None)
        return None if x is None else {"x": x}


def quantize(src: Path, dst: Path, inputs: list[np.ndarray], work: Path) -> None:
    import onnx
    import onnxruntime as ort
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    original = onnx.load(str(src))
    upgraded = work / f"{src.stem}.opset{OPSET}.onnx"
    onnx.save(version_converter.convert_version(original, OPSET), str(upgraded))
    prepared = work / f"{src.stem}.pre.onnx"
    quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
    # onnxruntime's own fusions first (GELU, MatMul+scale): quantising the raw graph splits
    # them apart again and loses half of the gain
    fused = work / f"{src.stem}.fused.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(fused)
    ort.InferenceSession(str(prepared), options, providers=["CPUExecutionProvider"])
    reader: CalibrationDataReader = _Reader(inputs)  # type: ignore[assignment]
    quantize_static(
        str(fused),
        str(dst),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["Conv"],
    )
    model = onnx.load(str(dst))
    del model.metadata_props[:]
    model.metadata_props.extend(original.metadata_props)  # the recogniser's character table
    onnx.save(model, str(dst))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=local_ocr.QUANTIZED_DIR)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument(
        "--models", nargs="+", choices=("det", "rec"), default=["det"], help="which to write"
    )
    parser.add_argument("--cache", type=Path, help="keep the recorded inputs here (.npz)")
    args = parser.parse_args()
    if args.cache and args.cache.is_file():
        with np.load(args.cache) as saved:
            det_inputs = [saved[k] for k in sorted(saved) if k.startswith("det")]
            rec_inputs = [saved[k] for k in sorted(saved) if k.startswith("rec")]
    else:
        images = calibration_images(args.seed)
        det_inputs, rec_inputs = record_inputs(images)
        if args.cache:
            arrays = {f"det{k:04d}": x for k, x in enumerate(det_inputs)}
            arrays |= {f"rec{k:04d}": x for k, x in enumerate(rec_inputs)}
            np.savez(args.cache, **arrays)
    print(f"{len(det_inputs)} detector and {len(rec_inputs)} recogniser inputs")
    models = local_ocr._model_dir()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for key, name, inputs in (
            ("det", local_ocr.DET_MODEL, det_inputs),
            ("rec", local_ocr.REC_MODEL, rec_inputs),
        ):
            if key not in args.models:
                continue
            dst = args.out / local_ocr.quantized_name(name)
            quantize(models / name, dst, inputs, Path(tmp))
            print(f"{dst}: {dst.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
