"""Jobs from the page, over real HTTP: the page's session submits and reads through the API
as its owner, nobody else's session (or key) reaches the job, a classify job's photos come
back as a zip sorted into folders, and the result is rendered on the server."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import httpx
from PIL import Image

from notelens.http.api.gate import owner_of
from notelens.http.web.tokens import Signer
from testsupport.fakes.openai_server import FakeOpenAI, Recorded, Reply, default_responder, text

from ...telegram.conftest import jpeg
from .conftest import SECRET

KEY_A, KEY_B = "key-alice-0123456789", "key-bob-abcdefghij"
PAGE = {"X-NoteLens-Page": "1"}


def colour(rgb: tuple[int, int, int], name: str) -> tuple[str, bytes, str]:
    buf = io.BytesIO()
    Image.new("RGB", (96, 64), rgb).save(buf, format="JPEG", quality=90)
    return (name, buf.getvalue(), "image/jpeg")


def by_colour(request: Recorded) -> Reply:
    """Classifies red photos as cats and the rest as dogs; anything else as usual."""
    if "CATEGORIES:" in request.texts and request.images:
        r, _, b = request.images[0].convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
        return text("cats" if r > b else "dogs")
    return default_responder(request)


async def signed_in_with(browser: httpx.AsyncClient, key: str) -> None:
    assert (await browser.post("/web/sign-in", data={"key": key})).status_code == 303


async def finished(browser: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job = (await browser.get(f"/api/v1/jobs/{job_id}", headers=PAGE)).json()
        if job["status"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise TimeoutError(job_id)


async def test_a_classify_job_from_the_page_is_its_owners_alone(
    web: Any, fake_model: FakeOpenAI
) -> None:
    fake_model.responder = by_colour
    server = await web(api_keys=f"{KEY_A},{KEY_B}")
    photos = [
        colour((220, 30, 30), "red.jpg"),
        colour((30, 30, 220), "blue.jpg"),
        colour((200, 10, 40), "red.jpg"),  # the same name again
        ("notes.txt", b"not an image at all", "text/plain"),
    ]
    async with server.client() as alice, server.client() as bob, server.client() as stranger:
        await signed_in_with(alice, KEY_A)
        await signed_in_with(bob, KEY_B)
        # The page's own request: the session cookie, the page's header, no key.
        refused = await alice.post(
            "/api/v1/jobs",
            data={"task": "classify", "categories": "cats, dogs"},
            files=[("files", p) for p in photos],
            headers=PAGE,
        )
        assert refused.status_code == 415  # the API's own checks apply to the page
        submitted = await alice.post(
            "/api/v1/jobs",
            data={"task": "classify", "categories": "cats, dogs"},
            files=[("files", p) for p in photos[:3]],
            headers=PAGE,
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        job = await finished(alice, job_id)
        assert [i["category"] for i in job["result"]["items"]] == ["cats", "dogs", "cats"]

        # Without the page's header (another site's form could send the cookie's... no:
        # SameSite=Strict keeps it home; and this request is refused all the same).
        assert (await alice.get(f"/api/v1/jobs/{job_id}")).status_code == 401
        same_origin = {"Sec-Fetch-Site": "same-origin"}
        assert (await alice.get(f"/api/v1/jobs/{job_id}", headers=same_origin)).status_code == 200

        view = await alice.get(f"/web/jobs/{job_id}/view", headers={"Accept-Language": "en"})
        assert view.status_code == 200
        assert view.text.count("<strong>cats</strong>") == 2 and "red.jpg" in view.text
        assert f"/web/jobs/{job_id}/sorted.zip" in view.text
        thumb = await alice.get(f"/web/jobs/{job_id}/photos/2/thumb.jpg")
        assert thumb.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(thumb.content)).size) <= 160

        zipped = await alice.get(f"/web/jobs/{job_id}/sorted.zip")
        assert zipped.status_code == 200
        assert zipped.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(zipped.content))
        assert archive.namelist() == ["cats/red.jpg", "dogs/blue.jpg", "cats/red-1.jpg"]
        assert archive.read("dogs/blue.jpg") == photos[1][1]
        assert archive.read("cats/red-1.jpg") == photos[2][1]

        page = await alice.get("/", headers={"Accept-Language": "en"})
        assert f'href="/?job={job_id}"' in page.text  # among her recent jobs

        # Bob (another key) and someone signed out reach none of it.
        for client in (bob, stranger):
            for path in (
                f"/web/jobs/{job_id}/view",
                f"/web/jobs/{job_id}/sorted.zip",
                f"/web/jobs/{job_id}/photos/1/thumb.jpg",
                f"/web/jobs/{job_id}/photos/1/outlined.jpg",
            ):
                assert (await client.get(path)).status_code == 404, path
        assert (await bob.get(f"/api/v1/jobs/{job_id}", headers=PAGE)).status_code == 404
        assert (await stranger.get(f"/api/v1/jobs/{job_id}", headers=PAGE)).status_code == 401
        assert f"/?job={job_id}" not in (await bob.get("/")).text
        # Alice's key itself, from a script, is the same owner as her session.
        with_key = await stranger.get(
            f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {KEY_A}"}
        )
        assert with_key.status_code == 200


async def test_a_telegram_session_owns_its_jobs(web: Any, fake_model: FakeOpenAI) -> None:
    server = await web(api_keys=KEY_A)
    fake_model.reply(text("# Shopping\n\n- milk\n- 面包"))
    async with server.client() as browser:
        token = Signer(SECRET.encode()).link_token(1001)
        assert (await browser.get("/web", params={"token": token})).status_code == 303
        submitted = await browser.post(
            "/api/v1/jobs",
            data={"task": "ocr", "language": "en"},
            files=[("files", ("list.jpg", jpeg(["milk", "bread"]), "image/jpeg"))],
            headers=PAGE,
        )
        assert submitted.status_code == 202
        job_id = submitted.json()["id"]
        job = await finished(browser, job_id)
        assert job["status"] == "done" and "milk" in job["result"]["text"]
        view = await browser.get(f"/web/jobs/{job_id}/view")
        assert "面包" in view.text and "<pre" in view.text
    store = await server.store()
    try:
        async with store.engine.connect() as conn:
            owner = await conn.exec_driver_sql(
                "SELECT owner FROM api_jobs WHERE public_id = ?", (job_id,)
            )
            assert owner.scalar_one() == "tg-user:1001"
    finally:
        await store.close()
    # The key's holder does not see it.
    async with server.client() as other:
        answer = await other.get(
            f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {KEY_A}"}
        )
        assert answer.status_code == 404
    assert owner_of(KEY_A) != "tg-user:1001"
