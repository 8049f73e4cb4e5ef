"""Offline OCR with RapidOCR (PP-OCR models on onnxruntime), for when no model is reachable.

Why an embedded engine: a newcomer without an API key, a user who must not send
documents to a cloud, and a bot whose endpoint is down should still get text out
of a photo. The `rapidocr` wheel ships its detection and recognition models
(`PP-OCRv6_det_small.onnx`, `PP-OCRv6_rec_small.onnx` with the character table in
its metadata), and we pass their paths explicitly, so loading never downloads.

Thread safety: one `RapidOCR` per process, built lazily under a lock. A call with
no per-call overrides does not mutate the engine (per-call overrides such as
`use_det=` or `box_thresh=` do, so we never pass them), and onnxruntime sessions
allow concurrent `run` calls, so `recognize` may be called from any thread. `read`
goes through a small dedicated pool so that the event loop never waits on CPU work
and two cores are not oversubscribed by many simultaneous inferences.

The layout step turns detected line boxes into paragraphs in reading order:
see `layout_paragraphs`.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import math
import os
import re
import statistics
import threading
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import cv2
import numpy as np
from PIL import Image

from . import captcha_model, local_codes
from .errors import NoteLensError
from .images import to_rgb

if TYPE_CHECKING:
    from rapidocr import RapidOCR
    from rapidocr.ch_ppocr_det import TextDetector
    from rapidocr.ch_ppocr_rec import TextRecognizer
    from rapidocr.utils.output import RapidOCROutput

log = logging.getLogger(__name__)

# RapidOCR logs model paths at INFO and "detection result is empty" at WARNING on
# its own handler (propagate=False); it resets the level from its config, so the
# level is also passed as a parameter below.
logging.getLogger("RapidOCR").setLevel(logging.ERROR)

# Detection time and memory grow with pixels (~120 MB per megapixel on top of
# ~300 MB for the runtime and models); PP-OCR reads text down to ~12 px high, so a
# page photographed at 12 MP loses nothing at 4 MP. Long receipts keep a longer side.
MAX_PIXELS = 4_000_000
MAX_LONG_SIDE = 4096
# Lines are found on a copy of at most this size and read from the larger image. A 12 MP
# page photo keeps its text big enough there: the real page photos' line boxes are 18-24 px
# high at 1 MP, with the same CER as when detected at 4 MP in a quarter of the time; at
# 0.6 MP lines of a dense page go missing (CER 9-11%). Detecting small text again at the
# full size did not help: on a 2600 px wide page of 12-14 px type it found no more.
DET_MAX_PIXELS = 1_000_000
MIN_SIDE = 8
# Lines the recognizer is less sure of than this are kept but reported.
LOW_SCORE = 0.7
# A captcha-like strip: read as one line without detection (detection splits
# warped glyphs apart; on `captcha`-package images this is 28/30 vs 14/30 right).
STRIP_MAX_HEIGHT = 256
STRIP_MIN_ASPECT = 1.5
CODE_WIDEN = 1.3  # captchas are read from a copy this much wider
# Our captcha model was trained on codes of 4-6 characters; a little longer still reads.
MODEL_MAX_LENGTH = 8
# Who reads a captcha: our captcha model, the general recogniser, or both (more confident wins).
CodeReader = Literal["both", "model", "general"]

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
# int8 copies of the detector and recogniser made by scripts/quantize_local_ocr.py (calibrated
# on generated images only); used when present, the wheel's float models otherwise.
QUANTIZED_DIR = Path(__file__).resolve().parent / "models"


def quantized_name(model: str) -> str:
    """`PP-OCRv6_det_small.onnx` → `PP-OCRv6_det_small.int8.onnx`."""
    return model.removesuffix(".onnx") + ".int8.onnx"


class LocalOcrUnavailable(NoteLensError):
    """The embedded OCR engine cannot run here (package or its bundled models missing)."""

    code = "local_ocr_unavailable"


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels
    score: float
    # The detector's quadrilateral (clockwise from top-left), when known; layout uses
    # it to undo page tilt. Not part of equality: two reads of one line are equal.
    quad: tuple[tuple[float, float], ...] | None = field(default=None, compare=False)


@dataclass
class LocalOcrResult:
    text: str
    lines: list[OcrLine]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- engine


def _model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def _find_model(models: Path, preferred: str, pattern: str) -> Path:
    """The bundled model file; the preferred name first, then any match (newer wheels)."""
    if (models / preferred).is_file():
        return models / preferred
    found = sorted(models.glob(pattern))
    if not found:
        raise LocalOcrUnavailable(
            f"The offline OCR model {preferred} is missing from {models}; reinstall `rapidocr`.",
        )
    return found[-1]


def _int8_copy(model: Path) -> Path:
    """Our int8 copy of a bundled model when we ship one for it, else the model itself."""
    copy = QUANTIZED_DIR / quantized_name(model.name)
    return copy if copy.is_file() else model


def _pool_size() -> int:
    """Two inferences at a time on 4+ cores, one on fewer: onnxruntime already uses all cores."""
    return 2 if (os.cpu_count() or 1) >= 4 else 1


class LocalOcrEngine:
    """RapidOCR wrapped for NoteLens: lazy, offline, thread-safe, paragraphs out."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        threads: int | None = None,
        det_max_pixels: int = DET_MAX_PIXELS,
        quantized: bool = True,
    ) -> None:
        self._workers = workers or _pool_size()
        self._det_max_pixels = det_max_pixels  # benchmarks compare other sizes
        self._quantized = quantized  # False: the wheel's float models (benchmarks, calibration)
        # Split the cores between the pool's workers so they do not fight over them.
        self._threads = threads or max(1, (os.cpu_count() or 1) // self._workers)
        self._lock = threading.Lock()
        self._rapid: RapidOCR | None = None
        self._models: tuple[Path, Path] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._captcha = captcha_model.CaptchaModel(threads=self._threads)

    # -- loading -------------------------------------------------------------
    def _engine(self) -> RapidOCR:
        if self._rapid is None:
            with self._lock:
                if self._rapid is None:
                    self._rapid = self._load()
        return self._rapid

    @property
    def models(self) -> tuple[Path, Path]:
        """The detector and recogniser model files in use (loads the engine)."""
        self._engine()
        assert self._models is not None
        return self._models

    def _load(self) -> RapidOCR:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise LocalOcrUnavailable(
                "The offline OCR package `rapidocr` is not installed."
            ) from exc
        models = _model_dir()
        det_model = _find_model(models, DET_MODEL, "*det*.onnx")
        rec_model = _find_model(models, REC_MODEL, "*rec*.onnx")
        if self._quantized:
            det_model, rec_model = (_int8_copy(m) for m in (det_model, rec_model))
        params: dict[str, Any] = {
            "Global.log_level": "error",
            # Per-line 180° classification flips correct lines of printed text
            # (seen on Liberation Sans pages), and photos of notes are upright.
            "Global.use_cls": False,
            # We cap the size ourselves (area-based, good resampling); stop RapidOCR
            # from shrinking again to 2000 px and cropping lines from the small copy.
            "Global.max_side_len": MAX_LONG_SIDE + 64,
            # RapidOCR's default scales every image up until its short side is 736 px:
            # a one-line strip 1100×110 px became 7000×736, 12× slower and no better
            # (16 single lines, 12-40 px text: 36.5 s vs 3.1 s, no errors either way).
            "Det.limit_side_len": 64,
            # One line per recogniser run: each at its own width (a batch is padded to its
            # widest line), and on one or two threads small inputs run faster per pixel
            # (12 lines of 640-1200 px: 0.75-0.8× the time of RapidOCR's batches of 6).
            "Rec.rec_batch_num": 1,
            "Det.model_path": str(det_model),
            "Rec.model_path": str(rec_model),
            "Cls.model_path": str(models / CLS_MODEL),
            "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
        }
        try:
            rapid = RapidOCR(params=params)
            # Load both sessions now rather than inside the first concurrent calls
            # (private but lock-guarded methods of RapidOCR 3.x; skipped if renamed).
            for name in ("_load_det_model", "_load_rec_model"):
                getattr(rapid, name, lambda: None)()
        except Exception as exc:
            raise LocalOcrUnavailable(f"The offline OCR engine failed to load: {exc}") from exc
        self._models = (det_model, rec_model)
        log.info("offline OCR loaded: %s, %s (%d threads)", det_model, rec_model, self._threads)
        return rapid

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="local-ocr")
        return self._pool

    # -- reading -------------------------------------------------------------
    def recognize(self, image: Image.Image, *, single_line: bool = False) -> LocalOcrResult:
        """Text of an RGB image as paragraphs in reading order. Sync, thread-safe.

        `single_line` is for captchas: a small strip is read whole, as one line,
        without detection; a larger image falls back to the page reading.
        """
        rapid = self._engine()
        warnings: list[str] = []
        img = to_rgb(image)
        if min(img.size) < MIN_SIDE:
            return LocalOcrResult(
                "", [], [f"The image is too small to read ({img.width}×{img.height})."]
            )
        img, scale = _cap_size(img, warnings)
        arr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])  # RapidOCR wants BGR

        if single_line and _is_strip(img) and hasattr(rapid, "_load_rec_model"):
            lines = _read_strip(rapid, arr, scale)
        else:
            lines = _read_page(rapid, arr, scale, self._det_max_pixels)
        if not lines:
            warnings.append("No text was found in the image.")
            return LocalOcrResult("", [], warnings)

        if single_line:
            ordered = sorted(lines, key=lambda ln: (ln.box[0], ln.box[1]))
            text = " ".join(ln.text for ln in ordered)
        else:
            paragraphs = _layout(lines)
            ordered = [item.line for para in paragraphs for row in para for item in row.items]
            text = _text(paragraphs)
        low = sum(ln.score < LOW_SCORE for ln in ordered)
        if low:
            warnings.append(f"{low} of {len(ordered)} lines were read with low confidence.")
        return LocalOcrResult(text, ordered, warnings)

    def recognize_code(
        self,
        image: Image.Image,
        *,
        length: int | None = None,
        alphabet: str | None = None,
        reader: CodeReader = "both",
    ) -> LocalOcrResult:
        """A captcha or short code, as the likeliest string that fits the hints (exactly
        `length` characters of `alphabet`, case folded; see `local_codes`). Sync, thread-safe.

        A captcha-like strip of up to MODEL_MAX_LENGTH letters and digits is read by our own
        captcha model (`captcha_model`) and by the general recogniser, and the more confident
        reading wins ("both"; each alone is worse on some real sites: benchmarks/local_ocr).
        Other codes, or all when the model file is missing, go to the general recogniser."""
        img = to_rgb(image)
        if reader != "general" and _model_fits(img, length, alphabet):
            probs = self._captcha.probabilities(img)
            if probs is not None:
                reading = local_codes.decode(
                    probs, captcha_model.TABLE, length=length, alphabet=alphabet
                )
                ours = _code_result(reading, img)
                if reader == "model":
                    return ours
                other = self._recognize_code_general(img, length, alphabet)
                score = max((ln.score for ln in other.lines), default=0.0)
                return ours if reading.confidence >= score else other
        return self._recognize_code_general(img, length, alphabet)

    def _recognize_code_general(
        self, img: Image.Image, length: int | None, alphabet: str | None
    ) -> LocalOcrResult:
        """A code read by the general PP-OCR recogniser (see `recognize_code`)."""
        rapid = self._engine()
        if min(img.size) < MIN_SIDE or not (_is_strip(img) and hasattr(rapid, "_load_rec_model")):
            result = self.recognize(img, single_line=True)
            code = captcha_text(result)
            if alphabet:
                code = "".join(ch for ch in code if ch.lower() in alphabet.lower())
            return LocalOcrResult(code, result.lines, result.warnings)
        h, w = img.height, img.width
        # captcha glyphs are crowded and overlap: a wider copy gives each one more of the
        # recogniser's steps, so two narrow letters are not read as one wide one
        wide = img.resize((round(w * CODE_WIDEN), h), Image.Resampling.BICUBIC)
        arr = np.ascontiguousarray(np.asarray(wide)[:, :, ::-1])
        # the recogniser, loaded once (its loader is unannotated in rapidocr)
        rec: TextRecognizer = rapid._load_rec_model()  # type: ignore[no-untyped-call]
        _, rec_h, rec_w = rec.rec_image_shape[:3]
        batch = rec.resize_norm_img(arr, max(rec_w / rec_h, arr.shape[1] / h))[np.newaxis]
        probs = rec.session(batch.astype(np.float32))[0]
        table = rec.postprocess_op.character
        return _code_result(local_codes.decode(probs, table, length=length, alphabet=alphabet), img)

    async def read_code(
        self, image: Image.Image, *, length: int | None = None, alphabet: str | None = None
    ) -> LocalOcrResult:
        """`recognize_code` on the engine's own small thread pool."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self.recognize_code, image, length=length, alphabet=alphabet)
        return await loop.run_in_executor(self._executor(), call)

    async def read(self, image: Image.Image, *, single_line: bool = False) -> LocalOcrResult:
        """`recognize` on the engine's own small thread pool."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self.recognize, image, single_line=single_line)
        return await loop.run_in_executor(self._executor(), call)

    def close(self) -> None:
        """Stop the pool (tests and shutdown); the loaded model stays for reuse."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


_ENGINE: LocalOcrEngine | None = None
_ENGINE_LOCK = threading.Lock()


def get_engine() -> LocalOcrEngine:
    """The process-wide engine; the model itself loads on the first read."""
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = LocalOcrEngine()
    return _ENGINE


def captcha_text(result: LocalOcrResult) -> str:
    """A captcha answer: everything on one line with all whitespace removed."""
    return "".join(result.text.split())


def _model_fits(img: Image.Image, length: int | None, alphabet: str | None) -> bool:
    """Whether our captcha model can answer: a strip, a short code, its characters only."""
    if min(img.size) < MIN_SIDE or not _is_strip(img):
        return False
    if length is not None and not 1 <= length <= MODEL_MAX_LENGTH:
        return False
    return alphabet is None or set(alphabet.lower()) <= set(captcha_model.CHARS)


def _code_result(reading: local_codes.CodeReading, img: Image.Image) -> LocalOcrResult:
    if not reading.text:
        return LocalOcrResult("", [], ["No text was found in the image."])
    box = (0.0, 0.0, float(img.width), float(img.height))
    line = OcrLine(text=reading.text, box=box, score=reading.confidence)
    warnings = []
    if reading.confidence < LOW_SCORE:
        warnings.append("1 of 1 lines were read with low confidence.")
    return LocalOcrResult(reading.text, [line], warnings)


# ----------------------------------------------------------------- image handling


def _cap_size(img: Image.Image, warnings: list[str]) -> tuple[Image.Image, float]:
    """Shrink to the pixel and long-side budget; returns the image and the scale back."""
    w, h = img.size
    scale = min(1.0, math.sqrt(MAX_PIXELS / (w * h)), MAX_LONG_SIDE / max(w, h))
    if scale >= 1.0:
        return img, 1.0
    size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
    warnings.append(f"The image was reduced from {w}×{h} to {size[0]}×{size[1]} for reading.")
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0), w / size[0]


def _is_strip(img: Image.Image) -> bool:
    return img.height <= STRIP_MAX_HEIGHT and img.width >= STRIP_MIN_ASPECT * img.height


def _read_page(
    rapid: RapidOCR, arr: np.ndarray, scale: float, det_max_pixels: int
) -> list[OcrLine]:
    h, w = arr.shape[:2]
    if h * w <= det_max_pixels or not hasattr(rapid, "_load_det_model"):
        # no per-call overrides: those mutate the shared engine; with det and rec on, RapidOCR
        # returns its full-pipeline output (its signature names every step's)
        out = cast("RapidOCROutput", rapid(arr))
        if out.txts is None or out.boxes is None or out.scores is None:
            return []
        found = list(zip(out.boxes, out.txts, out.scores, strict=True))
    else:
        found = _detect_small_read_large(rapid, arr, det_max_pixels)
    lines = []
    for quad, text, score in found:
        text = text.strip()
        if not text:
            continue
        pts = np.asarray(quad, dtype=np.float64) * scale
        xs, ys = pts[:, 0], pts[:, 1]
        lines.append(
            OcrLine(
                text=text,
                box=(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())),
                score=float(score),
                quad=tuple((float(x), float(y)) for x, y in pts),
            )
        )
    return lines


def _detect_small_read_large(
    rapid: RapidOCR, arr: np.ndarray, det_max_pixels: int
) -> list[tuple[np.ndarray, str, float]]:
    """Line quads found on a reduced copy (`DET_MAX_PIXELS`), each line read from `arr`:
    detection's cost grows with pixels, recognition's only with the lines' length."""
    from rapidocr.ch_ppocr_rec import TextRecInput
    from rapidocr.utils.process_img import get_rotate_crop_image

    # loaded once, under RapidOCR's own locks (the methods are unannotated in rapidocr)
    det: TextDetector = rapid._load_det_model()  # type: ignore[no-untyped-call]
    rec: TextRecognizer = rapid._load_rec_model()  # type: ignore[no-untyped-call]
    h, w = arr.shape[:2]
    shrink = math.sqrt(det_max_pixels / (h * w))
    boxes = _detect(det, arr, shrink)
    if boxes is None or not len(boxes):
        return []
    crops = [get_rotate_crop_image(arr, box.astype(np.float32)) for box in boxes]
    out = rec(TextRecInput(img=crops))
    return [
        (box, text, float(score))
        for box, text, score in zip(boxes, out.txts or (), out.scores, strict=True)
        if score >= rapid.text_score
    ]


def _detect(det: TextDetector, arr: np.ndarray, shrink: float) -> np.ndarray | None:
    """Line quads (n×4×2) in `arr`'s pixels, found on a copy reduced by `shrink`."""
    small = arr
    if shrink < 1.0:
        h, w = arr.shape[:2]
        size = (max(1, round(w * shrink)), max(1, round(h * shrink)))
        small = cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
    out = det(small)
    if out.boxes is None:
        return None
    sx, sy = arr.shape[1] / small.shape[1], arr.shape[0] / small.shape[0]
    boxes: np.ndarray = np.asarray(out.boxes, dtype=np.float64) * np.array([sx, sy])
    return boxes


def _read_strip(rapid: RapidOCR, arr: np.ndarray, scale: float) -> list[OcrLine]:
    from rapidocr.ch_ppocr_rec import TextRecInput

    # loaded once, under RapidOCR's own lock (the method is unannotated in rapidocr)
    rec: TextRecognizer = rapid._load_rec_model()  # type: ignore[no-untyped-call]
    out = rec(TextRecInput(img=[arr]))
    text = (out.txts or ("",))[0].strip()
    if not text:
        return []
    h, w = arr.shape[:2]
    box = (0.0, 0.0, w * scale, h * scale)
    return [OcrLine(text=text, box=box, score=float(out.scores[0]))]


# ------------------------------------------------------------------------ layout


@dataclass
class _Item:
    """A line fragment in layout space (page tilt removed)."""

    line: OcrLine
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass
class _Row:
    """One visual line: fragments left to right; `table` when a wide gap splits it."""

    items: list[_Item]
    table: bool = False
    after_short: bool = False  # the row above stopped short of the column's edge

    @property
    def x0(self) -> float:
        return min(i.x0 for i in self.items)

    @property
    def x1(self) -> float:
        return max(i.x1 for i in self.items)

    @property
    def y0(self) -> float:
        return min(i.y0 for i in self.items)

    @property
    def y1(self) -> float:
        return max(i.y1 for i in self.items)

    @property
    def h(self) -> float:
        return statistics.median(i.h for i in self.items)


def layout_paragraphs(lines: Sequence[OcrLine]) -> list[list[OcrLine]]:
    """Line boxes grouped into paragraphs in reading order.

    Rows are boxes whose vertical centres line up. Consecutive rows form a block
    while they keep the same vertical gutters (empty x ranges between boxes); a
    row that crosses a gutter (a full-width heading or footer) starts a new block.
    A block with a gutter between wide text masses is read column by column; a
    narrow table-like split (label ... value) is read row by row. Inside a column,
    a new paragraph starts at a larger vertical gap, a change of text height, or
    an indented line.
    """
    return [[item.line for row in para for item in row.items] for para in _layout(lines)]


def layout_text(lines: Sequence[OcrLine]) -> str:
    """The text `recognize` returns for these lines: paragraphs split by a blank line."""
    return _text(_layout(lines))


def _layout(lines: Sequence[OcrLine]) -> list[list[_Row]]:
    items = _to_layout_space([ln for ln in lines if ln.text.strip()])
    if not items:
        return []
    unit = statistics.median(i.h for i in items)  # one text height, the ruler for gaps
    min_gutter = 1.2 * unit
    paragraphs: list[list[_Row]] = []
    for block in _blocks(_rows(items), min_gutter):
        for column in _columns(block, min_gutter, unit):
            _mark_short_rows(column, unit)
            paragraphs.extend(_paragraphs(column, min_gutter))
    return paragraphs


def _mark_short_rows(column: list[_Row], unit: float) -> None:
    """A row follows one that stopped short of the column's right edge by more than its own
    first word would need: a line of a plain list or the title above a text, not prose
    wrapped by the page's width, so it keeps its own line."""
    right = max(r.x1 for r in column)
    for prev, row in itertools.pairwise(column):
        text = _row_text(row)
        words = text.split()
        first = words[0] if words else text
        if first and _is_cjk(first[0]):
            first = first[0]
        width = (row.x1 - row.x0) * len(first) / max(1, len(text))
        row.after_short = right - prev.x1 > width + 0.6 * unit


def _to_layout_space(lines: list[OcrLine]) -> list[_Item]:
    """Axis-aligned boxes after rotating by the page's dominant text angle."""
    angles = []
    for ln in lines:
        q = ln.quad
        if q is None or len(q) != 4:
            continue
        dx = (q[1][0] - q[0][0] + q[2][0] - q[3][0]) / 2
        dy = (q[1][1] - q[0][1] + q[2][1] - q[3][1]) / 2
        if dx > 2 * math.dist(q[0], q[3]):  # long lines give a reliable angle
            angles.append(math.atan2(dy, dx))
    angle = statistics.median(angles) if angles else 0.0
    if abs(angle) < math.radians(0.3) or abs(angle) > math.radians(30):
        angle = 0.0
    cos, sin = math.cos(-angle), math.sin(-angle)
    items = []
    for ln in lines:
        q = ln.quad
        if angle == 0.0 or q is None or len(q) != 4:
            items.append(_Item(ln, *ln.box))
            continue
        w = (math.dist(q[0], q[1]) + math.dist(q[3], q[2])) / 2
        h = (math.dist(q[0], q[3]) + math.dist(q[1], q[2])) / 2
        cx = sum(p[0] for p in q) / 4
        cy = sum(p[1] for p in q) / 4
        rx, ry = cx * cos - cy * sin, cx * sin + cy * cos
        items.append(_Item(ln, rx - w / 2, ry - h / 2, rx + w / 2, ry + h / 2))
    return items


def _rows(items: list[_Item]) -> list[_Row]:
    """Fragments whose vertical centres are within half a text height, top to bottom."""
    rows: list[list[_Item]] = []
    for item in sorted(items, key=lambda i: i.cy):
        if rows:
            last = rows[-1]
            row_cy = statistics.fmean(i.cy for i in last)
            row_h = statistics.median(i.h for i in last)
            if abs(item.cy - row_cy) <= 0.5 * min(item.h, row_h):
                last.append(item)
                continue
        rows.append([item])
    return [_Row(sorted(r, key=lambda i: i.x0)) for r in rows]


def _gutters(rows: Sequence[_Row], min_gutter: float) -> list[tuple[float, float]]:
    """Empty x ranges at least `min_gutter` wide between the boxes of these rows."""
    spans = sorted((i.x0, i.x1) for r in rows for i in r.items)
    gaps = []
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= min_gutter:
            gaps.append((reach, x0))
        reach = max(reach, x1)
    return gaps


def _kept(gutters: list[tuple[float, float]], survivors: list[tuple[float, float]]) -> bool:
    """Every gutter still has an empty range over it after adding a row."""
    return all(any(a < g1 and g0 < b for a, b in survivors) for g0, g1 in gutters)


def _blocks(rows: list[_Row], min_gutter: float) -> list[list[_Row]]:
    """Runs of rows that share their gutters; a row crossing one starts a new block."""
    blocks: list[list[_Row]] = []
    for row in rows:
        if blocks:
            block = blocks[-1]
            union = _gutters([*block, row], min_gutter)
            if _kept(_gutters(block, min_gutter), union) and _kept(
                _gutters([row], min_gutter), union
            ):
                block.append(row)
                continue
        blocks.append([row])
    return blocks


def _columns(block: list[_Row], min_gutter: float, unit: float) -> list[list[_Row]]:
    """Column by column when the gutters separate wide text; else the rows as they are."""
    cuts = _gutters(block, min_gutter)
    if len(block) >= 2 and cuts:
        edges = [min(r.x0 for r in block), *(x for g in cuts for x in g), max(r.x1 for r in block)]
        widths = [edges[k + 1] - edges[k] for k in range(0, len(edges), 2)]
        gaps = [g1 - g0 for g0, g1 in cuts]
        # Columns of prose are far wider than the space between them; a receipt's
        # items and prices are not, and must be read across.
        if min(widths) >= 6 * unit and max(gaps) <= 0.5 * min(widths):
            columns: list[list[_Item]] = [[] for _ in widths]
            for row in block:
                for item in row.items:
                    centre = (item.x0 + item.x1) / 2
                    columns[sum(centre > g0 for g0, _ in cuts)].append(item)
            return [_rows(col) for col in columns if col]
    for row in block:
        row.table = len(row.items) > 1 and bool(_gutters([row], min_gutter))
    return [block]


def _paragraphs(rows: list[_Row], min_gutter: float) -> list[list[_Row]]:
    """Split a column's rows at a wide gap, a change of text size, or an indent."""
    unit = statistics.median(r.h for r in rows)
    gaps = [rows[k].y0 - rows[k - 1].y1 for k in range(1, len(rows))]
    # The lower quartile: in a short column most gaps may be paragraph gaps.
    usual_gap = sorted(gaps)[len(gaps) // 4] if len(gaps) >= 2 else 0.5 * unit
    usual_gap = max(usual_gap, 0.1 * unit)
    margin = statistics.median(r.x0 for r in rows)
    paragraphs = [[rows[0]]]
    for k in range(1, len(rows)):
        prev, row = rows[k - 1], rows[k]
        gap = row.y0 - prev.y1
        wide_gap = gap > max(1.6 * usual_gap, usual_gap + 0.6 * unit)
        resized = abs(row.h - prev.h) > 0.25 * max(row.h, prev.h)
        indented = row.x0 - margin > 0.8 * unit and abs(row.x0 - prev.x0) > 0.5 * unit
        if wide_gap or resized or indented:
            paragraphs.append([row])
        else:
            paragraphs[-1].append(row)
    return paragraphs


# -------------------------------------------------------------------- joining text


def _is_cjk(ch: str) -> bool:
    """Chinese, Japanese and Korean characters and full-width punctuation."""
    if not ch:
        return False
    name = unicodedata.name(ch, "")
    return unicodedata.east_asian_width(ch) in ("W", "F") or name.startswith(
        ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")
    )


def _join(left: str, right: str) -> str:
    """Two pieces of one paragraph: no space between CJK, hyphenated words rejoined."""
    if not left:
        return right
    if not right:
        return left
    if re.search(r"[A-Za-z]-$", left) and right[0].islower():
        return left[:-1] + right
    if _is_cjk(left[-1]) or _is_cjk(right[0]):
        return left + right
    return f"{left} {right}"


def _row_text(row: _Row) -> str:
    text = ""
    for item in row.items:
        # Fragments of one line are joined like words; wide gaps get a space even in CJK.
        if text and _is_cjk(text[-1]) and _is_cjk(item.line.text[0]) and row.table:
            text += " " + item.line.text
        else:
            text = _join(text, item.line.text)
    return text


# "1." "2)" "3、" "(4)" "（5）" "一、" "•" "- ": a line that starts a list item
LIST_ITEM = re.compile(
    r"^\s*(?:\d{1,3}[.)、．](?!\d)|[(（]\d{1,3}[)）]|[一二三四五六七八九十]{1,3}[、．.]|[•·▪◦●○]|[-–*]\s)"
)


def _paragraph_text(rows: list[_Row]) -> str:
    text = ""
    for k, row in enumerate(rows):
        piece = _row_text(row)
        if k and (row.table or rows[k - 1].table or row.after_short or LIST_ITEM.match(piece)):
            text += "\n" + piece  # table rows, list items and short lines keep their own lines
        else:
            text = _join(text, piece)
    return text


def _text(paragraphs: list[list[_Row]]) -> str:
    return "\n\n".join(_paragraph_text(para) for para in paragraphs)
