"""The one adapter over `openai.AsyncOpenAI` that every task uses.

Transport failures (429 with retry-after, 5xx, timeouts, dropped connections) are
retried by the openai client itself. On top of that we retry once, hotter, when
the model answered but uselessly: empty, cut off by `max_tokens`, or looping.
Servers differ in small ways; this module knows them so tasks do not.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from .errors import ModelAuthError, ModelError, ModelOutputError, ModelUnavailable
from .results import Usage

log = logging.getLogger(__name__)

# A retry after a useless answer runs at this temperature, with a presence penalty.
RETRY_TEMPERATURE = 0.7
RETRY_PRESENCE_PENALTY = 1.0


@dataclass
class Completion:
    text: str
    finish_reason: str
    usage: Usage
    attempts: int = 1
    warnings: list[str] = field(default_factory=list)


def repetition_loop(text: str, *, min_span: int = 200, max_period: int = 120) -> bool:
    """True when the text ends in one unit repeated over at least `min_span` characters.

    That is how VLM OCR loops look ("的的的…", the same line again and again). A
    dotted leader or a table rule is far shorter than `min_span`.
    """
    tail = text[-4 * min_span :].rstrip()
    if len(tail) < min_span:
        return False
    for period in range(1, max_period + 1):
        unit = tail[-period:]
        repeats = 1
        end = len(tail) - period
        while end - period >= 0 and tail[end - period : end] == unit:
            repeats += 1
            end -= period
        if repeats >= 3 and repeats * period >= min_span:
            return True
    return False


def strip_fences(text: str) -> str:
    """Remove a Markdown code fence wrapped around the whole answer."""
    m = re.fullmatch(r"\s*```[\w-]*\n(.*?)\n?```\s*", text, re.S)
    return m.group(1) if m else text.strip()


def usage_from(response: Any, estimated_image_tokens: int) -> Usage:
    u = getattr(response, "usage", None)
    details = getattr(u, "prompt_tokens_details", None) if u else None
    image_tokens = (getattr(details, "image_tokens", None) or 0) if details else 0
    return Usage(
        calls=1,
        prompt_tokens=getattr(u, "prompt_tokens", 0) or 0 if u else 0,
        completion_tokens=getattr(u, "completion_tokens", 0) or 0 if u else 0,
        image_tokens=image_tokens,
        estimated_image_tokens=estimated_image_tokens,
    )


class ModelClient:
    """An OpenAI-compatible chat endpoint with bounded concurrency and checked answers."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        provider: str = "vllm",
        timeout: float = 60.0,
        max_retries: int = 3,
        max_concurrency: int = 8,
    ) -> None:
        self.model = model
        self.provider = provider
        self.base_url = base_url
        # Self-hosted servers often need no key, but the client insists on one.
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "no-key",
            timeout=timeout,
            max_retries=max_retries,
        )
        self._max_concurrency = max_concurrency
        self._semaphore: asyncio.Semaphore | None = None
        # Awaited before every request: the job engine's permit when the endpoint's rate
        # limit is shared by a deployment (MODEL_RATE_LIMIT); None: no limit.
        self.permit: Callable[[], Awaitable[None]] | None = None

    @property
    def semaphore(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._max_concurrency)
        return self._semaphore

    async def aclose(self) -> None:
        await self._client.close()

    def provider_fields(self, *, high_resolution: bool) -> dict[str, Any]:
        """Fields only DashScope understands; other servers may reject unknown ones."""
        if self.provider != "dashscope":
            return {}
        return {"vl_high_resolution_images": high_resolution}

    async def _create(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str,
        max_tokens: int,
        temperature: float,
        presence_penalty: float | None,
        extra_body: dict[str, Any] | None,
    ) -> Any:
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if presence_penalty is not None:
            kwargs["presence_penalty"] = presence_penalty
        if extra_body:
            kwargs["extra_body"] = extra_body
        if self.permit is not None:
            await self.permit()
        try:
            async with self.semaphore:
                return await self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError as exc:
            raise ModelUnavailable(
                "The model did not answer in time.", code="model_timeout"
            ) from exc
        except openai.APIConnectionError as exc:
            raise ModelUnavailable(
                f"Cannot reach the model endpoint at {self.base_url}.", code="model_unreachable"
            ) from exc
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ModelAuthError(
                "The model endpoint refused the API key (check VLM_API_KEY).", code="model_auth"
            ) from exc
        except openai.RateLimitError as exc:
            raise ModelUnavailable(
                "The model endpoint is rate-limiting us; try again shortly.", code="model_busy"
            ) from exc
        except openai.NotFoundError as exc:
            raise ModelError(
                f"The endpoint does not know the model {model!r}.", code="model_not_found"
            ) from exc
        except openai.InternalServerError as exc:
            raise ModelUnavailable(
                f"The model endpoint failed (HTTP {exc.status_code}).", code="model_server_error"
            ) from exc
        except openai.APIStatusError as exc:
            raise ModelError(
                f"The model endpoint rejected the request (HTTP {exc.status_code}).",
                code="model_rejected",
            ) from exc
        except (openai.APIError, ValueError) as exc:
            # Unparseable bodies: openai raises APIError for some, and lets the JSON
            # decoder's (or pydantic's) ValueError through for a 200 cut off mid-way.
            raise ModelUnavailable(
                "The model endpoint sent an answer we cannot read.", code="model_garbage"
            ) from exc

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str | None = None,
        max_tokens: int = 2048,
        temperature: float = 0.0,
        extra_body: dict[str, Any] | None = None,
        estimated_image_tokens: int = 0,
        allow_empty: bool = False,
    ) -> Completion:
        """One checked answer: retried once, hotter, if empty, cut off or looping.

        With `allow_empty`, an answer still empty after the retry is accepted (a
        photo may simply hold no text); otherwise it is an error.
        """
        model = model or self.model
        usage = Usage()
        problem = ""
        for attempt in (1, 2):
            retry = attempt > 1
            response = await self._create(
                messages,
                model=model,
                max_tokens=max_tokens,
                temperature=RETRY_TEMPERATURE if retry else temperature,
                presence_penalty=RETRY_PRESENCE_PENALTY if retry else None,
                extra_body=extra_body,
            )
            usage = usage + usage_from(response, estimated_image_tokens)
            choices = getattr(response, "choices", None) or []
            if not choices:
                problem = "no answer"
                continue
            text = strip_fences(choices[0].message.content or "")
            finish = choices[0].finish_reason or "stop"
            if repetition_loop(text):
                problem = "a repetition loop"
            elif finish == "length":
                problem = "an answer cut off at the length limit"
            elif not text:
                problem = "an empty answer"
                if retry and allow_empty:
                    return Completion("", finish, usage, attempt, ["the model found nothing"])
            else:
                warnings = [f"first answer was {problem}; retried"] if retry else []
                return Completion(text, finish, usage, attempt, warnings)
            log.warning("model %s gave %s (attempt %d)", model, problem, attempt)
        raise ModelOutputError(
            f"The model gave {problem} twice; no usable result.", code="model_output", usage=usage
        )
