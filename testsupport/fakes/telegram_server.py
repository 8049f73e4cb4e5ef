"""A fake Telegram Bot API server on loopback: enough of the API for the real bot to run.

Point PTB at it with `base_url(fake.api_base)` and `base_file_url(fake.file_base)`
(PTB appends the token). Tests inject updates (`send_text`, `send_photo`,
`send_album`, `press` …), then await what the bot did with `wait_for`. Every Bot
API call is recorded in `calls`; `fail(method, ...)` scripts errors (429 with
retry_after, 400 …) for the next calls of a method.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .server import ThreadedServer

TOKEN = "123456:TEST-token-secret-value"
BOT_ID = 123456
BOT_USERNAME = "notelens_test_bot"
GROUP_ID = -1001234567890

# Fields PTB sends as plain strings; everything else is JSON-encoded (PTB's RequestParameter).
STRING_FIELDS = {
    "text",
    "caption",
    "parse_mode",
    "callback_query_id",
    "action",
    "file_id",
    "language_code",
    "business_connection_id",
    "message_effect_id",
    "url",
    "secret_token",
}


@dataclass
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [
            (b.get("text", ""), b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    @property
    def document(self) -> tuple[str, bytes] | None:
        return self.files.get("document")

    @property
    def reply_to(self) -> int | None:
        rp = self.params.get("reply_parameters")
        if isinstance(rp, dict):
            return rp.get("message_id")
        return self.params.get("reply_to_message_id")


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1


ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


def user(user_id: int = 1001, language_code: str | None = "en", **extra: Any) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": f"User{user_id}",
        "language_code": language_code,
        **extra,
    }


class FakeTelegram(ThreadedServer):
    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME) -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        self.file_sizes: dict[str, int] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self.get_updates_calls = 0
        self.offsets: list[int] = []  # the offset of every getUpdates call (what was confirmed)
        self._failures: dict[str, list[Failure]] = {}
        self._lock = threading.Lock()
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._file_ids = itertools.count(1)
        self._new_update: asyncio.Event | None = None
        self._closing = False
        # chat id → user id → status ("creator" | "administrator"); others are "member".
        self.chat_admins: dict[int, dict[int, str]] = {}
        # setWebhook: pushed updates are POSTed there (with the secret header), as Telegram
        # does, and retried while the bot answers anything but 200.
        self.webhook: dict[str, Any] | None = None
        self.webhook_statuses: list[int] = []
        self.webhook_seconds: list[float] = []  # each answered POST: sent to 200
        self._chat_locks: dict[int | None, asyncio.Lock] = {}
        self.app.router.add_route("*", "/bot{token}/{method}", self._api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._file)

    def stop(self) -> None:
        """Release waiting long polls first, so no request is left pending at shutdown."""
        self._closing = True
        if self.port:
            self.call_soon(self._wake)
            time.sleep(0.05)
        super().stop()

    # --- addresses ------------------------------------------------------------
    @property
    def api_base(self) -> str:
        """For TELEGRAM_API_BASE_URL / ApplicationBuilder.base_url (token appended)."""
        return f"{self.base}/bot"

    @property
    def file_base(self) -> str:
        return f"{self.base}/file/bot"

    def env(self) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_API_BASE_URL": self.api_base,
            "TELEGRAM_FILE_BASE_URL": self.file_base,
        }

    # --- scripting ------------------------------------------------------------
    def fail(
        self,
        method: str,
        status: int = 400,
        description: str = "Bad Request: injected failure",
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` answer with this error."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if status == 429 and description.startswith("Bad Request"):
            description = f"Too Many Requests: retry after {retry_after}"
        with self._lock:
            self._failures.setdefault(method, []).append(
                Failure(status, description, retry_after, times)
            )

    def _take_failure(self, method: str) -> Failure | None:
        with self._lock:
            queue = self._failures.get(method)
            if not queue:
                return None
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            return failure

    def set_admin(self, chat_id: int, user_id: int, status: str = "administrator") -> None:
        """Make a user an administrator (or the owner: "creator") of a group, for getChatMember."""
        with self._lock:
            self.chat_admins.setdefault(chat_id, {})[user_id] = status

    # --- files ----------------------------------------------------------------
    def add_file(self, data: bytes, *, size: int | None = None) -> str:
        """Register bytes the bot can fetch with getFile; `size` may lie (oversize tests)."""
        file_id = f"FILE{next(self._file_ids):06d}-" + "x" * 60  # real ids are long
        with self._lock:
            self.files[file_id] = data
            self.file_sizes[file_id] = len(data) if size is None else size
        return file_id

    # --- building updates ----------------------------------------------------------
    def _next_message_id(self, chat_id: int) -> int:
        with self._lock:
            counter = self._message_ids.setdefault(chat_id, itertools.count(1))
            return next(counter)

    @staticmethod
    def chat_for(sender: dict[str, Any], chat_id: int | None) -> dict[str, Any]:
        if chat_id is None or chat_id == sender["id"]:
            return {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
        return {"id": chat_id, "type": "supergroup", "title": "Test group"}

    def _message(
        self,
        sender: dict[str, Any],
        chat_id: int | None,
        reply_to: int | None,
        **content: Any,
    ) -> dict[str, Any]:
        chat = self.chat_for(sender, chat_id)
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **content,
        }
        if reply_to is not None:
            original = self.messages.get((chat["id"], reply_to))
            if original is not None:
                message["reply_to_message"] = original
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (from any thread) and wake a waiting getUpdates."""
        update = {"update_id": next(self._update_ids), kind: payload}
        with self._lock:
            self.updates.append(update)
        if self.webhook is not None:
            self.call_soon(lambda: self.loop.create_task(self._deliver_in_turn(update)))
        self.call_soon(self._wake)
        return payload

    async def _deliver_in_turn(self, update: dict[str, Any]) -> None:
        """Like Telegram, one chat's updates are posted one at a time, in order (each after
        the previous one was answered); different chats' at once."""
        chat = _chat_of(update)
        lock = self._chat_locks.setdefault(chat, asyncio.Lock())
        async with lock:
            await self._deliver(update)

    async def _deliver(self, update: dict[str, Any], attempts: int = 5) -> None:
        """POST one update to the webhook like Telegram: retried until a 200 (a few times)."""
        assert self.webhook is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        async with aiohttp.ClientSession() as session:
            for attempt in range(attempts):
                began = time.monotonic()
                try:
                    async with session.post(
                        self.webhook["url"], data=json.dumps(update), headers=headers
                    ) as response:
                        status = response.status
                except aiohttp.ClientError:
                    status = 0
                self.webhook_statuses.append(status)
                if status == 200:
                    self.webhook_seconds.append(time.monotonic() - began)
                    with self._lock:
                        self.updates = [u for u in self.updates if u is not update]
                    return
                await asyncio.sleep(0.2 * (attempt + 1))

    def _wake(self) -> None:
        if self._new_update is not None:
            self._new_update.set()

    def send_text(
        self,
        text: str,
        sender: dict[str, Any] | None = None,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
        as_chat: bool = False,
        text_mentions: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A text message; commands and @mentions get their entities like Telegram's. With
        `as_chat`, sent by an anonymous admin: from GroupAnonymousBot, on behalf of the chat.
        `text_mentions` maps words of the text to users: a name picked from the member list
        (a `text_mention`, how Telegram names people who have no username)."""
        sender = sender or user()
        content: dict[str, Any] = {"text": text, **_entities("entities", text)}
        for shown, person in (text_mentions or {}).items():
            at = text.index(shown)
            entity = {
                "type": "text_mention",
                "offset": _utf16_len(text[:at]),
                "length": _utf16_len(shown),
                "user": person,
            }
            content["entities"] = sorted(
                [*content.get("entities", []), entity], key=lambda e: e["offset"]
            )
        if as_chat:
            sender = {**ANONYMOUS_ADMIN, "language_code": sender.get("language_code")}
            content["sender_chat"] = self.chat_for(sender, chat_id)
        return self.push("message", self._message(sender, chat_id, reply_to, **content))

    def send_photo(
        self,
        data: bytes,
        sender: dict[str, Any] | None = None,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
        media_group_id: str | None = None,
        size: int | None = None,
        unique_id: str | None = None,
        as_chat: bool = False,
    ) -> dict[str, Any]:
        """A compressed photo: a thumbnail size and the full size, like Telegram sends.

        `unique_id` sets the full size's file_unique_id: the same file sent again (forwarded).
        With `as_chat`, posted by an anonymous admin, as the group.
        """
        sender = sender or user()
        extra: dict[str, Any] = {}
        if as_chat:
            sender = {**ANONYMOUS_ADMIN, "language_code": sender.get("language_code")}
            extra["sender_chat"] = self.chat_for(sender, chat_id)
        thumb_id = self.add_file(b"thumbnail-not-an-image")
        file_id = self.add_file(data, size=size)
        photo = [
            {
                "file_id": thumb_id,
                "file_unique_id": thumb_id[:12],
                "width": 90,
                "height": 90,
                "file_size": 22,
            },
            {
                "file_id": file_id,
                "file_unique_id": unique_id or file_id[:12],
                "width": 1280,
                "height": 960,
                "file_size": self.file_sizes[file_id],
            },
        ]
        content: dict[str, Any] = {"photo": photo, **extra}
        if caption is not None:
            content.update(caption=caption, **_entities("caption_entities", caption))
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self.push("message", self._message(sender, chat_id, reply_to, **content))

    def send_document(
        self,
        data: bytes,
        file_name: str,
        mime_type: str | None,
        sender: dict[str, Any] | None = None,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
        size: int | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        sender = sender or user()
        file_id = self.add_file(data, size=size)
        document = {
            "file_id": file_id,
            "file_unique_id": file_id[:12],
            "file_name": file_name,
            "file_size": self.file_sizes[file_id],
        }
        if mime_type:
            document["mime_type"] = mime_type
        content: dict[str, Any] = {"document": document}
        if caption is not None:
            content.update(caption=caption, **_entities("caption_entities", caption))
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self.push("message", self._message(sender, chat_id, reply_to, **content))

    def send_album(
        self,
        photos: list[bytes],
        sender: dict[str, Any] | None = None,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        group_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Photos sharing a media_group_id, as separate updates; caption on the first."""
        sender = sender or user()
        group_id = group_id or f"album{next(self._file_ids)}"
        return [
            self.send_photo(
                data,
                sender,
                caption=caption if i == 0 else None,
                chat_id=chat_id,
                media_group_id=group_id,
            )
            for i, data in enumerate(photos)
        ]

    def press(
        self, message: dict[str, Any], data: str, sender: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Press an inline button of a message the bot sent."""
        sender = sender or user()
        query = {
            "id": f"cb{next(self._file_ids)}",
            "from": sender,
            "chat_instance": "ci1",
            "message": message,
            "data": data,
        }
        return self.push("callback_query", query)

    # --- reading what the bot did ---------------------------------------------------
    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            calls = list(self.calls)
        return [
            c for c in calls if c.method == method and (chat_id is None or c.chat_id == chat_id)
        ]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Messages and documents the bot sent (in order)."""
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if c.method in ("sendMessage", "sendDocument")
            and (chat_id is None or c.chat_id == chat_id)
        ]

    async def wait_for(
        self,
        predicate: Callable[[FakeTelegram], Any],
        timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
        interval: float = 0.02,
    ) -> Any:
        """Await (on the test's loop) until `predicate(self)` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met in {timeout} s; calls: {self.summary()}")
            await asyncio.sleep(interval)

    async def wait_sent(
        self,
        chat_id: int,
        count: int = 1,
        *,
        after: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """The first `count` messages/documents to `chat_id` after the first `after` ones."""
        return await self.wait_for(
            lambda f: (s := f.sent(chat_id)[after:]) and len(s) >= count and s[:count],
            timeout,
        )

    def summary(self) -> str:
        with self._lock:
            calls = list(self.calls)
        return "; ".join(
            f"{c.method}({c.chat_id}: {c.text[:60]!r})" for c in calls if c.method != "getUpdates"
        )

    def message_of(self, call: Call) -> dict[str, Any]:
        """The Message the bot got back for a send call (to reply to it or press its buttons)."""
        assert isinstance(call.result, dict)
        return call.result

    def reply_to_bot(
        self, call: Call, text: str, sender: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The user replies to a message the bot sent."""
        msg = self.message_of(call)
        chat_id = msg["chat"]["id"]
        sender = sender or user()
        return self.send_text(
            text,
            sender,
            chat_id=None if chat_id == sender["id"] else chat_id,
            reply_to=msg["message_id"],
        )

    # --- the HTTP side -------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(method, params, files)
        if method != "getUpdates":
            with self._lock:
                self.calls.append(call)
        failure = self._take_failure(method)
        if failure is not None:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        handler = getattr(self, f"_m_{_snake(method)}", None)
        if handler is None:
            result: Any = True
        else:
            result = await handler(params, files)
        if isinstance(result, web.StreamResponse):
            return result
        call.result = result
        return web.json_response(
            {"ok": True, "result": result}, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        data = self.files.get(file_id)
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _m_get_me(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "NoteLens",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_set_webhook(self, params: dict[str, Any], files: Any) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    async def _m_delete_webhook(self, params: dict[str, Any], files: Any) -> bool:
        self.webhook = None
        return True

    async def _m_get_updates(self, params: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        if self.webhook is not None:  # Telegram refuses getUpdates while a webhook is set
            return _conflict("can't use getUpdates method while webhook is active")  # type: ignore[return-value]
        self.get_updates_calls += 1
        offset = int(params.get("offset") or 0)
        self.offsets.append(offset)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        if self._new_update is None:
            self._new_update = asyncio.Event()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if offset:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                pending = self.updates[:limit]
            if pending or self._closing or time.monotonic() >= deadline:
                return pending
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._new_update.wait(), max(0.0, deadline - time.monotonic())
                )

    def _bot_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        chat = (
            {"id": chat_id, "type": "private", "first_name": "User"}
            if chat_id > 0
            else {"id": chat_id, "type": "supergroup", "title": "Test group"}
        )
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "NoteLens", "username": self.username}
        message = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": bot,
            **content,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def _m_send_message(self, params: dict[str, Any], files: Any) -> Any:
        text = str(params.get("text", ""))
        if len(text) > 4096:
            return _bad_request("Bad Request: message is too long")
        if params.get("parse_mode") == "HTML" and not _valid_html(text):
            return _bad_request("Bad Request: can't parse entities")
        content: dict[str, Any] = {"text": text}
        if params.get("reply_markup"):
            content["reply_markup"] = params["reply_markup"]
        return self._bot_message(int(params["chat_id"]), **content)

    async def _m_edit_message_text(self, params: dict[str, Any], files: Any) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            return _bad_request("Bad Request: message to edit not found")
        text = str(params.get("text", ""))
        markup = params.get("reply_markup") or None
        if message.get("text") == text and message.get("reply_markup") == markup:
            return _bad_request("Bad Request: message is not modified")
        message = {**message, "text": text, "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        self.messages[key] = message
        return message

    async def _m_edit_message_reply_markup(self, params: dict[str, Any], files: Any) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            return _bad_request("Bad Request: message to edit not found")
        message = {k: v for k, v in message.items() if k != "reply_markup"}
        self.messages[key] = message
        return message

    async def _m_send_document(self, params: dict[str, Any], files: Any) -> Any:
        if "document" not in files:
            return _bad_request("Bad Request: there is no document in the request")
        name, data = files["document"]
        caption = params.get("caption")
        if caption and len(str(caption)) > 1024:
            return _bad_request("Bad Request: message caption is too long")
        file_id = self.add_file(data)
        content: dict[str, Any] = {
            "document": {
                "file_id": file_id,
                "file_unique_id": file_id[:12],
                "file_name": name,
                "file_size": len(data),
            }
        }
        if caption:
            content["caption"] = caption
        if params.get("reply_markup"):
            content["reply_markup"] = params["reply_markup"]
        return self._bot_message(int(params["chat_id"]), **content)

    async def _m_get_chat_member(self, params: dict[str, Any], files: Any) -> Any:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        if chat_id > 0 and chat_id != user_id:
            return _bad_request("Bad Request: member not found")
        status = self.chat_admins.get(chat_id, {}).get(user_id, "member")
        return _member(user_id, "creator" if chat_id == user_id else status)

    async def _m_get_chat_administrators(self, params: dict[str, Any], files: Any) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id > 0:
            return _bad_request("Bad Request: there are no administrators in the private chat")
        return [_member(u, status) for u, status in self.chat_admins.get(chat_id, {}).items()]

    async def _m_get_file(self, params: dict[str, Any], files: Any) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            return _bad_request("Bad Request: invalid file_id")
        size = self.file_sizes[file_id]
        if size > 20 * 1024 * 1024:
            return _bad_request("Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": file_id[:12],
            "file_size": size,
            "file_path": f"documents/{file_id}",
        }


def _chat_of(update: dict[str, Any]) -> int | None:
    for value in update.values():
        if isinstance(value, dict):
            message = value.get("message", value)
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict):
                return int(chat["id"])
    return None


def _member(user_id: int, status: str) -> dict[str, Any]:
    """A ChatMember object as the Bot API returns it (the fields PTB requires)."""
    member: dict[str, Any] = {"status": status, "user": user(user_id)}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        rights = (
            "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
            "can_promote_members can_change_info can_invite_users can_post_stories "
            "can_edit_stories can_delete_stories"
        )
        member.update({right: True for right in rights.split()})
        member.update(can_be_edited=False, is_anonymous=False)
    return member


def _conflict(description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": 409, "description": f"Conflict: {description}"}, status=409
    )


def _bad_request(description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": 400, "description": description}, status=400
    )


_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}


def _valid_html(text: str) -> bool:
    """Roughly Telegram's rule: known tags, balanced; a bare `<` or `&` is an error."""
    stack: list[str] = []
    for m in _TAG.finditer(text):
        closing, tag = m.group(1), m.group(2).lower()
        if tag not in ALLOWED_TAGS:
            return False
        if closing:
            if not stack or stack.pop() != tag:
                return False
        else:
            stack.append(tag)
    if stack:
        return False
    stripped = _TAG.sub("", text)
    if "<" in stripped or ">" in stripped:
        return False
    return not re.search(r"&(?!(lt|gt|amp|quot|#\d+);)", stripped)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        return dict(await request.json()), files
    if request.method == "GET":
        raw: Any = request.query
    elif request.content_type.startswith("multipart/"):
        raw = {}
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None:
                files[part.name or ""] = (part.filename, bytes(await part.read()))
            else:
                raw[part.name] = await part.text()
    else:
        raw = await request.post()
    for key, value in raw.items():
        if key in STRING_FIELDS or not isinstance(value, str):
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params, files


_COMMAND_OR_MENTION = re.compile(
    r"(?P<cmd>^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?)|(?P<mention>@[A-Za-z0-9_]{5,})"
)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entities(key: str, text: str) -> dict[str, Any]:
    """bot_command and mention entities, with Telegram's UTF-16 offsets."""
    entities = []
    for m in _COMMAND_OR_MENTION.finditer(text):
        kind = "bot_command" if m.group("cmd") else "mention"
        entities.append(
            {
                "type": kind,
                "offset": _utf16_len(text[: m.start()]),
                "length": _utf16_len(m.group(0)),
            }
        )
    return {key: entities} if entities else {}
