"""A person's categories on the page are the rows the bot's /categories and /classify use."""

from __future__ import annotations

from typing import Any

from notelens.http.web.tokens import Signer

from .conftest import SECRET

ALICE, BOB = 1001, 1002


async def signed_in(browser: Any, user_id: int) -> None:
    token = Signer(SECRET.encode()).link_token(user_id)
    assert (await browser.get("/web", params={"token": token})).status_code == 303


async def test_categories_edited_on_the_page_are_the_bots(web: Any) -> None:
    server = await web(default_categories="cats,dogs")
    store = await server.store()
    try:
        await store.set_categories(BOB, ["Bob's own"])
        async with server.client() as browser:
            await signed_in(browser, ALICE)
            page = await browser.get("/", headers={"Accept-Language": "en"})
            assert "cats\ndogs</textarea>" in page.text  # the defaults until she chooses
            saved = await browser.post(
                "/web/categories", data={"categories": "猫\n狗，风景, 猫", "action": "save"}
            )
            assert saved.status_code == 303
            assert (await store.user(ALICE)).categories == ["猫", "狗", "风景"]
            page = await browser.get(saved.headers["location"], headers={"Accept-Language": "en"})
            assert "猫\n狗\n风景</textarea>" in page.text and "Saved." in page.text
            assert 'value="猫, 狗, 风景"' in page.text  # and they prefill a classify job

            empty = await browser.post("/web/categories", data={"categories": " , "})
            assert empty.status_code == 400 and "cannot be empty" in empty.text
            too_many = ",".join(f"c{i}" for i in range(31))
            refused = await browser.post("/web/categories", data={"categories": too_many})
            assert refused.status_code == 400 and "at most 30" in refused.text
            assert (await store.user(ALICE)).categories == ["猫", "狗", "风景"]

            forged = await browser.post(
                "/web/categories",
                data={"categories": "pwned"},
                headers={"Origin": "https://evil.example"},
            )
            assert forged.status_code == 403
            reset = await browser.post("/web/categories", data={"action": "reset"})
            assert reset.status_code == 303
            assert (await store.user(ALICE)).categories is None
        assert (await store.user(BOB)).categories == ["Bob's own"]
    finally:
        await store.close()


async def test_without_a_telegram_session_there_are_no_categories_to_edit(web: Any) -> None:
    server = await web()
    async with server.client() as browser:
        page = await browser.get("/")
        assert 'action="/web/categories"' not in page.text
        answer = await browser.post("/web/categories", data={"categories": "a"})
        assert answer.status_code == 403
