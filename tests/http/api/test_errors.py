"""Every refusal is JSON `{"error": {"code", "message"}}` with the right status, in the
client's language; keys, upload size and rate are checked before the body is read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from testsupport.fakes.openai_server import FakeOpenAI

from .conftest import KEY, Api, files, page_png, pdf_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


def refused(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    assert message
    return message


async def answered_mid_body(
    url: str, path: str, headers: dict[str, str], first_part: bytes
) -> tuple[int, dict[str, Any]]:
    """Send the request head and only the first part of its body, then read the answer:
    the server can only answer if it did not wait for the rest (which never comes)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        writer.write(head.encode() + b"\r\n" + first_part)
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length)
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1]), json.loads(body)


PART_HEAD = (
    b"--xyz\r\n"
    b'Content-Disposition: form-data; name="files"; filename="big.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)


def chunked(data: bytes, size: int = 64 * 1024) -> bytes:
    return b"".join(
        f"{len(data[i : i + size]):x}\r\n".encode() + data[i : i + size] + b"\r\n"
        for i in range(0, len(data), size)
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {KEY}"}],
)
async def test_without_the_right_key_everything_is_401(
    shared_api: Api, fresh_model: FakeOpenAI, headers: dict[str, str]
) -> None:
    async with shared_api.client(None, headers=headers) as client:
        for method, path in [
            ("POST", "/api/v1/jobs"),
            ("GET", "/api/v1/jobs/whatever"),
            ("POST", "/api/v1/ocr"),
            ("POST", "/api/v1/analyze"),
        ]:
            answer = await client.request(method, path)
            refused(answer, 401, "unauthorized")
            assert answer.headers["www-authenticate"] == "Bearer"
        legacy = await client.post("/ocr", json={"image": "aGVsbG8="})
    assert legacy.status_code == 401 and legacy.json()["success"] is False
    assert fresh_model.requests == []


async def test_401_is_answered_before_the_body_is_read(shared_api: Api) -> None:
    status, body = await answered_mid_body(
        shared_api.url,
        "/api/v1/jobs",
        {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(50 << 20)},
        b"\0" * 1024,
    )
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_an_upload_over_the_limit_is_refused_by_its_declared_length(shared_api: Api) -> None:
    big = b"\x89PNG" + b"\0" * (2 * 1024 * 1024)
    async with shared_api.client() as client:
        answer = await client.post("/api/v1/jobs", files=files(big), data={"task": "ocr"})
    assert "1 MB" in refused(answer, 413, "too_large")
    # ...without reading it: the answer comes while 49 of the declared 50 MB never do.
    status, body = await answered_mid_body(
        shared_api.url,
        "/api/v1/jobs",
        {
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(50 << 20),
        },
        b"\0" * (1 << 20),
    )
    assert status == 413 and body["error"]["code"] == "too_large"


async def test_a_streamed_upload_is_refused_as_soon_as_it_passes_the_limit(
    shared_api: Api,
) -> None:
    """No Content-Length (chunked): the body is counted as it arrives, and refused once it
    passes the limit (1 MB here), though the body has not ended."""
    status, body = await answered_mid_body(
        shared_api.url,
        "/api/v1/jobs",
        {
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "multipart/form-data; boundary=xyz",
            "Transfer-Encoding": "chunked",
        },
        chunked(PART_HEAD + b"\0" * (3 << 19)),  # 1.5 MB of a file, and no last chunk
    )
    assert status == 413 and body["error"]["code"] == "too_large"


async def test_not_an_image_is_415_whatever_it_is_called(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    async with shared_api.client(headers={"Accept-Language": "zh"}) as client:
        answer = await client.post(
            "/api/v1/jobs",
            files=[("files", ("photo.png", b"just some text, not a picture", "image/png"))],
            data={"task": "ocr"},
        )
        empty = await client.post(
            "/api/v1/jobs", files=[("files", ("e.jpg", b"", "image/jpeg"))], data={"task": "ocr"}
        )
    assert refused(answer, 415, "not_image") == "photo.png 不是图片或 PDF。"
    refused(empty, 415, "not_image")
    assert fresh_model.requests == []


async def test_a_damaged_pdf_is_415(shared_api: Api) -> None:
    async with shared_api.client() as client:
        answer = await client.post(
            "/api/v1/jobs",
            files=[("files", ("a.pdf", b"%PDF-1.4 garbage", "application/pdf"))],
            data={"task": "notes"},
        )
    refused(answer, 415, "pdf_invalid")


@pytest.mark.parametrize(
    ("data", "upload", "code"),
    [
        ({"task": "translate"}, "png", "invalid"),
        ({"task": "ocr", "language": "fr"}, "png", "invalid"),
        ({"task": "ask"}, "png", "question_required"),
        ({"task": "ask", "question": "   "}, "png", "question_required"),
        ({"task": "notes"}, "pdf+png", "one_pdf"),
        ({"task": "ocr"}, "21 png", "too_many_files"),
        ({"task": "ocr"}, "none", "invalid"),
    ],
)
async def test_bad_parameters_are_422_in_our_shape(
    shared_api: Api, fresh_model: FakeOpenAI, data: dict[str, str], upload: str, code: str
) -> None:
    png = page_png(["x"], size=12)
    sent: list[Any] = {
        "png": files(png),
        "pdf+png": [("files", ("a.pdf", pdf_of(1), "application/pdf")), *files(png)],
        "21 png": files(*[png] * 21),
        "none": None,
    }[upload]
    async with shared_api.client() as client:
        answer = await client.post("/api/v1/jobs", files=sent, data=data)
    message = refused(answer, 422, code)
    if code == "invalid":
        assert message.startswith("The request is not valid:")
    assert fresh_model.requests == []


async def test_unknown_jobs_and_addresses_are_404(shared_api: Api) -> None:
    async with shared_api.client() as client:
        refused(await client.get("/api/v1/jobs/no-such-job"), 404, "not_found")
        refused(await client.get("/api/v1/jobs/no-such-job/document"), 404, "not_found")
        refused(await client.get("/api/v1/jobs/no-such-job/events"), 404, "not_found")
        refused(await client.delete("/api/v1/jobs/no-such-job"), 404, "not_found")
        refused(await client.get("/api/v1/nothing/here"), 404, "not_found")
        refused(await client.put("/api/v1/jobs"), 405, "method_not_allowed")


async def test_a_bug_is_500_without_its_details(
    shared_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internals at /srv/notelens/db.py")

    monkeypatch.setattr(shared_api.app.state.api, "view", broken)
    async with shared_api.client(headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as client:
        job_id = await shared_api.submit(client, "ocr")
        answer = await client.get(f"/api/v1/jobs/{job_id}")
    message = refused(answer, 500, "internal")
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert message == "服务器内部出错，已记录日志，请稍后再试。"
