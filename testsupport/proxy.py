"""A tiny HTTP reverse proxy on loopback that takes turns between its upstreams.

What a load balancer in front of several `notelens serve` processes does, small enough to
read: each request goes to the next upstream in turn (round robin), with its method, path,
headers and body; the answer comes back as it was. Every request is recorded with the
upstream that got it, so a test can show that one conversation really crossed processes.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from .fakes.server import ThreadedServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@dataclass
class Routed:
    upstream: int  # index into `upstreams`
    path: str
    status: int
    body: Any  # the JSON body (None when not JSON)


class RoundRobinProxy(ThreadedServer):
    def __init__(self, upstreams: list[str]) -> None:
        super().__init__()
        self.upstreams = upstreams
        self.routed: list[Routed] = []
        self._turn = itertools.cycle(range(len(upstreams)))
        self._lock = threading.Lock()
        self._session: aiohttp.ClientSession | None = None
        self.app.router.add_route("*", "/{path:.*}", self._forward)
        self.app.on_cleanup.append(self._close)

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            index = next(self._turn)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            async with self._session.request(
                request.method,
                self.upstreams[index] + request.path_qs,
                data=body,
                headers=headers,
            ) as answer:
                payload = await answer.read()
                status = answer.status
                out_headers = {
                    k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP
                }
        except aiohttp.ClientError:
            status, payload, out_headers = 502, b"bad gateway", {}
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            self.routed.append(Routed(index, request.path, status, parsed))
        return web.Response(status=status, body=payload, headers=out_headers)

    def upstreams_where(self, match: Callable[[dict[str, Any]], bool]) -> set[int]:
        """Which upstreams answered 200 to the JSON requests that `match`."""
        with self._lock:
            routed = list(self.routed)
        return {
            r.upstream
            for r in routed
            if r.status == 200 and isinstance(r.body, dict) and match(r.body)
        }
