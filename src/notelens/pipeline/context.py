"""What every task needs: settings, the model clients, and image preparation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ..config import Settings, detect_provider
from . import images, memory
from .errors import ConfigError
from .images import Budget, PreparedImage
from .memory import PixelBudget
from .vlm import ModelClient

ImageInput = bytes | Image.Image


@dataclass
class Context:
    settings: Settings
    vlm: ModelClient | None
    llm: ModelClient | None
    # Shared by every job run through this context: see `memory.PixelBudget`.
    pixels: PixelBudget = field(init=False)
    # Pages of notes being read at once, by all jobs: as many as the model takes at once.
    page_slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        on_idle = memory.trim_async if self.settings.malloc_trim else None
        self.pixels = PixelBudget(self.settings.max_pixels_in_flight, on_idle)
        self.page_slots = asyncio.Semaphore(self.settings.vlm_max_concurrency)

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        memory.limit_arenas(settings.malloc_arena_max)
        vlm = None
        if settings.has_vlm:
            vlm = ModelClient(
                base_url=settings.vlm_base_url,
                api_key=_secret(settings.vlm_api_key),
                model=settings.vlm_model,
                provider=settings.resolved_provider,
                timeout=settings.vlm_timeout_s,
                max_retries=settings.vlm_max_retries,
                max_concurrency=settings.vlm_max_concurrency,
            )
        llm_url, llm_key = settings.llm_endpoint
        llm = None
        if settings.has_llm:
            llm = ModelClient(
                base_url=llm_url,
                api_key=_secret(llm_key),
                model=settings.llm_model,
                provider=detect_provider(llm_url),
                timeout=settings.vlm_timeout_s,
                max_retries=settings.vlm_max_retries,
                max_concurrency=settings.vlm_max_concurrency,
            )
        return cls(settings, vlm, llm)

    async def aclose(self) -> None:
        for client in {id(c): c for c in (self.vlm, self.llm) if c}.values():
            await client.aclose()

    def require_vlm(self, task: str) -> ModelClient:
        if self.vlm is None:
            raise ConfigError(
                f"{task} needs a vision model: set VLM_API_KEY (or DASHSCOPE_API_KEY), "
                "or point VLM_BASE_URL at a self-hosted server and set VLM_PROVIDER.",
                code="no_model",
            )
        return self.vlm

    @property
    def factor(self) -> int:
        return self.settings.vlm_token_pixels

    def budget(self, task: str) -> Budget:
        s = self.settings
        if task == "classify":
            return Budget(max_tokens=s.classify_max_tokens)
        if task == "captcha":
            # A 160×60 captcha is ~12 tokens as it is: too few to read 4-6 characters.
            return Budget(min_tokens=48, max_tokens=s.captcha_max_tokens, min_short_tokens=2)
        return Budget(max_tokens=s.ocr_max_tokens)

    async def prepare(self, image: ImageInput, task: str) -> PreparedImage:
        """Decode, orient, resize and encode in a worker thread, within the pixel budget."""
        budget = self.budget(task)
        async with self.pixels.hold(pixel_count(image)):
            if isinstance(image, Image.Image):
                return await asyncio.to_thread(images.prepare_image, image, budget, self.factor)
            return await asyncio.to_thread(
                images.prepare,
                image,
                budget,
                self.factor,
                max_pixels=self.settings.max_image_pixels,
            )

    async def decode(self, image: ImageInput, *, target_pixels: int | None = None) -> Image.Image:
        """Decode within the pixel budget; large JPEGs no larger than `target_pixels` needs."""
        if isinstance(image, Image.Image):
            return image
        async with self.pixels.hold(pixel_count(image)):
            return await asyncio.to_thread(
                images.open_image,
                image,
                max_pixels=self.settings.max_image_pixels,
                target_pixels=target_pixels,
            )

    def high_resolution(self) -> bool:
        """DashScope downsizes above 1,280 tokens unless asked not to."""
        return self.settings.ocr_max_tokens > 1280


def pixel_count(image: ImageInput) -> int:
    """The pixels an input has, or will have once decoded."""
    if isinstance(image, Image.Image):
        return image.width * image.height
    return images.pixel_count(image)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def image_message(prepared: PreparedImage, prompt: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": prepared.data_url}},
                {"type": "text", "text": prompt},
            ],
        }
    ]
