"""A small captcha reader of our own (CRNN, CTC over 0-9a-z), run with onnxruntime.

Why: the general PP-OCR recogniser reads printed lines well but not captchas built to
defeat it (3D-extruded capitals, overlapping thin letters). This model, a few hundred
kilobytes, was trained only on captchas from our generator
(`testsupport/imagegen/captcha_styles.py`; `scripts/train_captcha_model.py` re-trains it),
and gives per-step probabilities that `local_codes.decode` turns into the likeliest code
fitting the user's hints. Case is folded: captchas ignore it.

The model loads lazily, once, under a lock; onnxruntime sessions allow concurrent `run`
calls, so `probabilities` may be called from any thread.
"""

from __future__ import annotations

import logging
import string
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).with_name("models") / "captcha.onnx"
HEIGHT, WIDTH = 32, 128  # the model's input, grey; every captcha is resized to it
CHARS = string.digits + string.ascii_lowercase
TABLE = ["blank", *CHARS]  # class 0 is the CTC blank, as `local_codes.decode` expects


def prepare(image: Image.Image) -> np.ndarray:
    """The model's input for one image: grey, HEIGHT×WIDTH, standardised (1×1×H×W).

    Standardising per image makes ink colour and background shade matter less."""
    grey = image.convert("L").resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)
    arr = np.asarray(grey, np.float32) / 255.0
    arr = (arr - arr.mean()) / (arr.std() + 0.05)
    return np.ascontiguousarray(arr[np.newaxis, np.newaxis], np.float32)


class CaptchaModel:
    """The ONNX model, loaded on first use; `None` from `probabilities` if it is missing."""

    def __init__(self, path: Path = MODEL_PATH, threads: int = 1) -> None:
        self._path = path
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._missing = False

    def _load(self) -> Any:
        if self._session is None and not self._missing:
            with self._lock:
                if self._session is None and not self._missing:
                    if not self._path.is_file():
                        log.warning(
                            "captcha model %s is missing: captchas are read by the "
                            "general recogniser instead",
                            self._path,
                        )
                        self._missing = True
                        return None
                    import onnxruntime as ort

                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = self._threads
                    opts.inter_op_num_threads = 1
                    self._session = ort.InferenceSession(
                        str(self._path), opts, providers=["CPUExecutionProvider"]
                    )
        return self._session

    def available(self) -> bool:
        return self._load() is not None

    def probabilities(self, image: Image.Image) -> np.ndarray | None:
        """Steps × classes (class 0 blank, then TABLE), or None without the model."""
        session = self._load()
        if session is None:
            return None
        out = session.run(None, {session.get_inputs()[0].name: prepare(image)})[0]
        return np.asarray(out[0], np.float64)
