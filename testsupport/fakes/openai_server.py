"""A fake OpenAI-compatible chat endpoint on loopback that records and scripts answers.

Every request is recorded with its images decoded, so tests can check what the
model really saw (size, MIME type, token grid). Answers come from a queue of
scripted replies (`reply(...)`), then from `responder`, a function of the request.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from .server import ThreadedServer


@dataclass
class Reply:
    content: str | None = "ok"
    finish_reason: str = "stop"
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0
    usage: dict[str, Any] | None = None
    raw_body: str | None = None
    raw_status: int = 502
    raw_type: str = "text/html"


def text(content: str, finish_reason: str = "stop", **kw: Any) -> Reply:
    return Reply(content=content, finish_reason=finish_reason, **kw)


def error(status: int, retry_after: float | None = None, message: str = "fake failure") -> Reply:
    return Reply(content=message, status=status, retry_after=retry_after)


def hang(seconds: float) -> Reply:
    """Answer only after `seconds`: past the client's timeout, this is a hang."""
    return Reply(content="too late", delay=seconds)


def empty() -> Reply:
    return Reply(content="")


def cut_off(content: str = "The text goes on and on") -> Reply:
    return Reply(content=content, finish_reason="length")


def looping(unit: str = "重复的句子。", times: int = 300) -> Reply:
    return Reply(content="开头。" + unit * times, finish_reason="length")


def garbage() -> Reply:
    """A body that is not JSON at all."""
    return Reply(raw_body="<html>502 Bad Gateway</html>")


def truncated() -> Reply:
    """A 200 answer whose JSON body was cut off mid-way (a proxy dropped the connection)."""
    body = '{"id": "chatcmpl-fake", "object": "chat.completion", "choices": [{"index": 0, "mess'
    return Reply(raw_body=body, raw_status=200, raw_type="application/json")


FAKE_RECEIPT = {
    "is_receipt": True,
    "merchant": "全家 FamilyMart",
    "date": "2026-11-20",
    "currency": "CNY",
    "total": "23.50",
    "items": [
        {"name": "饭团", "quantity": "2", "amount": "11.00"},
        {"name": "乌龙茶", "quantity": "1", "amount": "12.50"},
    ],
}

DATA_URL = re.compile(r"data:(?P<mime>[\w/+.-]+);base64,(?P<b64>.+)", re.S)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def _parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for m in self.messages:
            content = m.get("content")
            if isinstance(content, str):
                parts.append({"type": "text", "text": content, "role": m.get("role")})
            elif isinstance(content, list):
                parts.extend({**p, "role": m.get("role")} for p in content)
        return parts

    @property
    def texts(self) -> str:
        return "\n".join(p["text"] for p in self._parts() if p.get("type") == "text")

    @property
    def user_text(self) -> str:
        return "\n".join(
            p["text"] for p in self._parts() if p.get("type") == "text" and p["role"] == "user"
        )

    @property
    def image_urls(self) -> list[str]:
        urls = []
        for p in self._parts():
            if p.get("type") == "image_url":
                iu = p["image_url"]
                urls.append(iu["url"] if isinstance(iu, dict) else iu)
        return urls

    @property
    def image_mimes(self) -> list[str]:
        return [m.group("mime") for u in self.image_urls if (m := DATA_URL.match(u))]

    @property
    def images(self) -> list[Image.Image]:
        out = []
        for u in self.image_urls:
            m = DATA_URL.match(u)
            if m:
                img = Image.open(io.BytesIO(base64.b64decode(m.group("b64"))))
                img.load()
                out.append(img)
        return out


def default_responder(req: Recorded) -> Reply:
    """Plausible answers per task, recognised from our own prompts."""
    t = req.texts
    if not req.image_urls:
        if "CATEGORY-MAPPING" in t:
            return text("0")
        return text(f"Polished:\n{req.user_text.strip()}")
    if "RECEIPT" in t:
        return text(json.dumps(FAKE_RECEIPT, ensure_ascii=False))
    if "CATEGORIES:" in t:
        first = re.search(r"^1\. (.+)$", t, re.M)
        return text(first.group(1).strip() if first else "other")
    if "CAPTCHA" in t:
        return text("AB12")
    if "Read all the text in the image" in t:
        return text("Fake OCR text\nsecond line")
    return text("A fake answer.")


class FakeOpenAI(ThreadedServer):
    def __init__(
        self, responder: Callable[[Recorded], Reply] = default_responder, latency: float = 0.0
    ) -> None:
        super().__init__()
        self.responder = responder
        self.latency = latency
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.app.router.add_post("/v1/chat/completions", self._chat)
        self.app.router.add_get("/v1/models", self._models)

    @property
    def url(self) -> str:
        return f"{self.base}/v1"

    def reply(self, *replies: Reply) -> None:
        """Script the next answers, used in order before the responder."""
        with self._lock:
            self._queue.extend(replies)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def _next(self, rec: Recorded) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
        return self.responder(rec)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        rec = Recorded(request.path, dict(request.headers), body)
        with self._lock:
            self.requests.append(rec)
        reply = self._next(rec)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency or reply.delay:
                await asyncio.sleep(self.latency + reply.delay)
        finally:
            self.in_flight -= 1
        if reply.raw_body is not None:
            return web.Response(
                status=reply.raw_status, text=reply.raw_body, content_type=reply.raw_type
            )
        if reply.status != 200:
            headers = {}
            if reply.retry_after is not None:
                headers["retry-after"] = str(reply.retry_after)
            payload = {"error": {"message": reply.content, "type": "fake", "code": reply.status}}
            return web.json_response(payload, status=reply.status, headers=headers)
        n_images = len(rec.image_urls)
        usage = reply.usage or {
            "prompt_tokens": 20 + 100 * n_images,
            "completion_tokens": len(reply.content or "") // 2 + 1,
            "total_tokens": 21 + 100 * n_images + len(reply.content or "") // 2,
            "prompt_tokens_details": {"image_tokens": 100 * n_images},
        }
        return web.json_response(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": rec.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": usage,
            },
            dumps=lambda o: json.dumps(o, ensure_ascii=False),
        )
