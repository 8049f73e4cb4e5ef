"""The bot's /web link and the page's sessions, over real HTTP: a valid link signs its
Telegram user in, an expired or tampered one gets a clear page, keys sign in once."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from notelens.archive import Archive, NewNote, Source
from notelens.config import Settings
from notelens.http.web.tokens import LINK_SALT, Signer, web_link, web_secret
from tests.telegram.conftest import RunningBot, bot_settings, start_bot, tg
from testsupport.fakes.telegram_server import BOT_USERNAME, GROUP_ID, FakeTelegram, user

from .conftest import SECRET

__all__ = ["bot_settings", "start_bot", "tg"]

ALICE, BOB = 1001, 1002


def link_for(server: Any, user_id: int) -> str:
    link = web_link(server.settings, user_id)
    assert link is not None
    return link.removeprefix(server.settings.public_url)


def old_token(secret: bytes, user_id: int, age_s: float) -> str:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age_s)

    return URLSafeTimedSerializer(secret, salt=LINK_SALT, signer=Past).dumps({"u": user_id})


async def keep_note(server: Any, owner: str, title: str) -> None:
    store = await server.store()
    try:
        archive = Archive(store.engine)
        await archive.add(
            owner,
            NewNote(title, f"# {title}\n\nbody of {title}", [], Source("api"), "工作"),
        )
    finally:
        await store.close()


async def test_a_link_signs_its_user_in_and_shows_their_notes_only(web: Any) -> None:
    server = await web(public_url="https://notes.example.com")
    await keep_note(server, f"tg-user:{ALICE}", "Alice's lecture")
    await keep_note(server, f"tg-user:{BOB}", "Bob's secret")
    async with server.client() as browser:
        opened = await browser.get(link_for(server, ALICE))
        assert opened.status_code == 303 and opened.headers["location"] == "/"
        cookie = opened.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert "secure" in cookie  # PUBLIC_URL is https
        # The cookie is Secure: this test client talks plain http, so hand it over by name.
        browser.cookies.set("notelens_session", opened.cookies["notelens_session"])
        page = await browser.get("/", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "Signed in from Telegram" in page.text
        assert "Alice&#39;s lecture" in page.text and "Bob" not in page.text
        note = await browser.get("/web/notes/1")
        assert note.status_code == 200 and "body of Alice" in note.text
        md = await browser.get("/web/notes/1/markdown")
        assert md.headers["content-type"].startswith("text/markdown")
        assert md.text == "# Alice's lecture\n\nbody of Alice's lecture"
        assert "attachment" in md.headers["content-disposition"]
        # Bob's note 1 exists, but Alice's session asks for Alice's note 1 only.
        assert (await browser.get("/web/notes/2")).status_code == 404


async def test_an_expired_link_gets_a_clear_page(web: Any) -> None:
    server = await web(public_url="http://127.0.0.1")
    token = old_token(SECRET.encode(), ALICE, 601)
    async with server.client() as browser:
        answer = await browser.get(f"/web?token={token}", headers={"Accept-Language": "zh"})
        assert answer.status_code == 410
        assert "链接已过期" in answer.text and "/web" in answer.text
        assert "set-cookie" not in answer.headers
        still_fresh = old_token(SECRET.encode(), ALICE, 500)
        assert (await browser.get(f"/web?token={still_fresh}")).status_code == 303


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "TAMPER",  # a real token with its payload changed
        "OTHER",  # signed with another secret
    ],
)
async def test_a_tampered_or_foreign_link_gets_a_clear_page(web: Any, token: str) -> None:
    server = await web(public_url="http://127.0.0.1")
    if token == "TAMPER":
        real = Signer(SECRET.encode()).link_token(ALICE)
        forged = Signer(SECRET.encode()).link_token(BOB)
        token = forged.split(".")[0] + "." + ".".join(real.split(".")[1:])
    elif token == "OTHER":
        token = Signer(b"someone else's secret").link_token(ALICE)
    async with server.client() as browser:
        answer = await browser.get(
            "/web", params={"token": token}, headers={"Accept-Language": "en"}
        )
        assert answer.status_code == 400
        assert "This link is not valid" in answer.text
        assert "set-cookie" not in answer.headers


async def test_with_api_keys_the_page_needs_a_key_or_a_link(web: Any) -> None:
    server = await web(api_keys="key-one-0123456789,key-two-abcdefghij")
    async with server.client() as browser:
        first = await browser.get("/", headers={"Accept-Language": "en"})
        assert first.status_code == 200 and 'action="/web/sign-in"' in first.text
        assert "job-form" not in first.text
        wrong = await browser.post("/web/sign-in", data={"key": "key-three"})
        assert wrong.status_code == 401 and "not valid" in wrong.text
        assert "notelens_session" not in browser.cookies
        cross_site = await browser.post(
            "/web/sign-in", data={"key": "key-two-abcdefghij"}, headers={"Origin": "https://evil"}
        )
        assert cross_site.status_code == 401
        right = await browser.post("/web/sign-in", data={"key": "key-two-abcdefghij"})
        assert right.status_code == 303
        assert "key-two" not in right.headers["set-cookie"]  # the key is not in the cookie
        page = await browser.get("/")
        assert "job-form" in page.text and "Signed in with an API key" in page.text
        out = await browser.post("/web/sign-out")
        assert out.status_code == 303
        assert "job-form" not in (await browser.get("/")).text


async def test_a_session_ends_when_its_user_is_no_longer_allowed(web: Any) -> None:
    server = await web(api_keys="k-0123456789", allowed_user_ids="2002")
    async with server.client() as browser:
        assert (await browser.get(link_for_secret(ALICE))).status_code == 303
        assert "job-form" not in (await browser.get("/")).text  # 1001 is not allowed


def link_for_secret(user_id: int) -> str:
    return "/web?token=" + Signer(SECRET.encode()).link_token(user_id)


async def test_language_follows_the_browser_then_the_switch(web: Any) -> None:
    server = await web()
    async with server.client() as browser:
        zh = await browser.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
        assert '<html lang="zh-CN">' in zh.text and "新任务" in zh.text
        en = await browser.get("/", headers={"Accept-Language": "fr-FR,en;q=0.5,zh;q=0.4"})
        assert '<html lang="en">' in en.text and "New job" in en.text
        switched = await browser.get("/?lang=zh", headers={"Accept-Language": "en"})
        assert "新任务" in switched.text
        kept = await browser.get("/", headers={"Accept-Language": "en"})
        assert "新任务" in kept.text  # the switch is remembered (a cookie)
        assert kept.headers["content-security-policy"].startswith("default-src 'self'")


# --- the bot's /web command -------------------------------------------------------------


async def test_web_command_sends_a_link_that_opens_the_page(
    tg: FakeTelegram, start_bot: Any, web: Any
) -> None:
    server = await web()
    await start_bot(public_url=server.url, web_secret=SECRET)
    tg.send_text("/web", user(ALICE, "zh"))
    [reply] = await tg.wait_sent(ALICE)
    assert "10 分钟" in reply.text
    [url] = re.findall(r"href=\"([^\"]+)\"", reply.text)
    assert url.startswith(server.url + "/web?token=")
    async with server.client() as browser:
        assert (await browser.get(url.removeprefix(server.url))).status_code == 303
        assert "已通过 Telegram 登录" in (await browser.get("/?lang=zh")).text


async def test_web_command_in_a_group_or_unconfigured(tg: FakeTelegram, start_bot: Any) -> None:
    await start_bot()  # no PUBLIC_URL
    tg.send_text("/web", user(ALICE, "en"))
    [reply] = await tg.wait_sent(ALICE)
    assert "not set up" in reply.text and "PUBLIC_URL" in reply.text
    tg.send_text(f"/web@{BOT_USERNAME}", user(ALICE, "en"), chat_id=GROUP_ID)
    [group] = await tg.wait_sent(GROUP_ID)
    assert "private chat" in group.text and "token" not in group.text


def test_the_derived_secret_is_stable_and_not_the_token(bot_settings: Any) -> None:
    settings: Settings = bot_settings()
    token = settings.telegram_bot_token
    assert token is not None
    secret = web_secret(settings)
    assert secret == web_secret(bot_settings())
    assert token.get_secret_value().encode() not in secret
    assert Signer(secret).read_link(Signer(secret).link_token(7)) == 7


__all__ += ["RunningBot"]


async def test_the_access_log_never_holds_a_link_token(
    web: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = await web(public_url="http://127.0.0.1")
    server.server.config.access_log = True
    token = Signer(SECRET.encode()).link_token(ALICE)
    access = logging.getLogger("uvicorn.access")  # uvicorn's own: it does not propagate
    access.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            async with server.client() as browser:
                assert (await browser.get(f"/web?token={token}&lang=en")).status_code == 303
    finally:
        access.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/web?token=…&lang=en" in line for line in lines), lines
    assert token not in caplog.text
