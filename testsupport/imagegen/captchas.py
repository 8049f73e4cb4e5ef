"""Captchas from the `captcha` package with known answers, repeatable from a seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Captcha:
    answer: str
    seed: int

    def render(self) -> Image.Image:
        from captcha.image import ImageCaptcha

        with _seeded_captcha(self.seed):
            return ImageCaptcha(width=200, height=70).generate_image(self.answer).convert("RGB")


class _SeededSecrets:
    """The three `secrets` calls the captcha package makes, from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def randbelow(self, n: int) -> int:
        return self._r.randrange(n)

    def randbits(self, k: int) -> int:
        return self._r.getrandbits(k)

    def choice(self, seq):  # type: ignore[no-untyped-def]
        return self._r.choice(seq)


@contextmanager
def _seeded_captcha(seed: int) -> Iterator[None]:
    """`captcha` draws from `secrets` (unseedable); swap in a seeded source meanwhile."""
    import captcha.image as module

    saved = module.secrets
    module.secrets = _SeededSecrets(seed)  # type: ignore[assignment]
    try:
        yield
    finally:
        module.secrets = saved
