"""The archive on SQLite and PostgreSQL: kept per owner, found again in Chinese and English,
refiled, deleted, exported as an Obsidian vault, forgotten."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from pathvalidate import validate_filename
from sqlalchemy.engine import URL

from notelens.archive import Archive, ArchivedPage, NewNote, Source, telegram_owner
from notelens.store.engine import make_engine
from notelens.store.migrate import upgrade

ALICE = telegram_owner(1001, 1001, private=True)
BOB = telegram_owner(1002, 1002, private=True)
GROUP = telegram_owner(-1001234567890, 1001, private=False)  # Alice's message in a group


@pytest.fixture
async def archive(db_url: URL) -> AsyncIterator[Archive]:
    """The archive in a database of each engine, built by the migrations (revision 0003)."""
    engine = make_engine(db_url)
    await upgrade(engine)
    yield Archive(engine)
    await engine.dispose()


def note(title: str, *pages: str, category: str = "学习", **kw: object) -> NewNote:
    body = "\n\n".join(f"## Page {i}\n\n{p}" for i, p in enumerate(pages, 1))
    return NewNote(
        title=title,
        markdown=f"# {title}\n\n{body}\n",
        pages=[ArchivedPage(i, raw=p, polished=p) for i, p in enumerate(pages, 1)],
        source=Source("telegram", chat_id=1001, message_id=42),
        category=category,
        **kw,  # type: ignore[arg-type]
    )


LINEAR = note(
    "线性代数 第三讲",
    "今天老师讲了特征值。我们用矩阵表示线性变换，再求它的特征多项式。",
    keywords=["特征值", "矩阵"],
)
HISTORY = note("宋代的科举", "科举制度在宋代更加完善，考试内容以经义和策论为主。")
ENGLISH = note(
    "Operating systems, week 5",
    "Processes and threads share an address space.",
    "Scheduling: round robin, priorities, starvation.",
    "Virtual memory: page tables and the translation lookaside buffer.",
    category="CS",
)


async def test_a_two_character_chinese_word_inside_a_sentence(archive: Archive) -> None:
    linear = await archive.add(ALICE, LINEAR)
    await archive.add(ALICE, HISTORY)
    hits = await archive.search(ALICE, "矩阵")
    assert [h.number for h in hits] == [linear]
    assert "矩阵" in hits[0].snippet
    start, end = hits[0].highlights[0]
    assert hits[0].snippet[start:end] == "矩阵"
    assert [h.title for h in await archive.search(ALICE, "宋代")] == ["宋代的科举"]
    assert await archive.search(ALICE, "代码") == []  # 代 and 码 alone are not enough


async def test_short_words_at_the_end_of_a_field_and_single_characters(archive: Archive) -> None:
    end = await archive.add(ALICE, note("第三章 矩阵", "没有那个词", keywords=["行列式"]))
    os = await archive.add(ALICE, note("Lecture", "Every OS has a kernel", category="CS"))
    assert [h.number for h in await archive.search(ALICE, "矩阵")] == [end]
    assert [h.number for h in await archive.search(ALICE, "列式")] == [end]  # a keyword's end
    assert [h.number for h in await archive.search(ALICE, "os kernel")] == [os]
    assert [h.number for h in await archive.search(ALICE, "cs")] == [os]  # the category
    assert [h.number for h in await archive.search(ALICE, "章")] == [end]
    assert [h.number for h in await archive.search(ALICE, "词 矩阵")] == [end]


async def test_longer_words_and_several_words_all_match(archive: Archive) -> None:
    await archive.add(ALICE, LINEAR)
    await archive.add(ALICE, HISTORY)
    assert [h.title for h in await archive.search(ALICE, "特征多项式")] == ["线性代数 第三讲"]
    assert [h.title for h in await archive.search(ALICE, "线性 特征多项式")] == ["线性代数 第三讲"]
    assert await archive.search(ALICE, "线性 科举") == []
    assert await archive.search(ALICE, "  ") == []
    assert await archive.search(ALICE, '100% "_') == []  # LIKE wildcards are plain text


async def test_an_english_word_in_the_third_page(archive: Archive) -> None:
    await archive.add(ALICE, LINEAR)
    number = await archive.add(ALICE, ENGLISH)
    for words in ("lookaside", "LOOKASIDE buffer", "translation"):
        hits = await archive.search(ALICE, words)
        assert [h.number for h in hits] == [number], words
    snippet = (await archive.search(ALICE, "lookaside"))[0].snippet
    assert "lookaside" in snippet and snippet.startswith("…")
    note = await archive.get(ALICE, number)
    assert note is not None and len(note.pages) == 3
    assert "lookaside" in (note.pages[2].polished or "")


async def test_results_are_ranked(archive: Archive) -> None:
    once = await archive.add(ALICE, note("Biology", "A cell has a membrane."))
    title = await archive.add(ALICE, note("Membrane transport", "Membrane proteins move ions."))
    for words in ("membrane", "MEMBRANE"):
        assert [h.number for h in await archive.search(ALICE, words)] == [title, once]
    short = await archive.add(ALICE, note("膜", "细胞膜。膜蛋白。膜电位。"))
    other = await archive.add(ALICE, note("细胞", "细胞有膜。"))
    assert [h.number for h in await archive.search(ALICE, "膜")][:2] == [short, other]


async def test_another_owner_never_sees_them(archive: Archive) -> None:
    assert (ALICE, GROUP) == ("tg-user:1001", "tg-chat:-1001234567890")
    alice = await archive.add(ALICE, LINEAR)
    group = await archive.add(GROUP, note("小组讨论：矩阵", "矩阵的秩。"))
    assert (alice, group) == (1, 1)  # numbers are per owner
    assert await archive.search(BOB, "矩阵") == []
    assert await archive.latest(BOB) == []
    assert await archive.get(BOB, alice) is None
    assert not await archive.refile(BOB, alice, "stolen")
    assert not await archive.delete(BOB, alice)
    assert await archive.forget(BOB) == 0
    names = zipfile.ZipFile(io.BytesIO(await archive.export(BOB))).namelist()
    assert names == []
    assert [h.title for h in await archive.search(ALICE, "矩阵")] == ["线性代数 第三讲"]
    assert [h.title for h in await archive.search(GROUP, "矩阵")] == ["小组讨论：矩阵"]
    kept = await archive.get(ALICE, alice)
    assert kept is not None and kept.category == "学习"


async def test_refiling_and_deleting_show_in_search_at_once(archive: Archive) -> None:
    first = await archive.add(ALICE, LINEAR)
    second = await archive.add(ALICE, ENGLISH)
    assert await archive.refile(ALICE, first, "数学课")
    assert [h.number for h in await archive.search(ALICE, "数学课")] == [first]
    assert (await archive.search(ALICE, "数学课"))[0].category == "数学课"
    assert await archive.search(ALICE, "学习") == []  # the old category is no longer searched
    assert await archive.delete(ALICE, first)
    assert await archive.search(ALICE, "矩阵") == []
    assert await archive.search(ALICE, "数学课") == []
    assert await archive.get(ALICE, first) is None
    assert not await archive.delete(ALICE, first)
    third = await archive.add(ALICE, HISTORY)
    assert (second, third) == (2, 3)  # a deleted number is never given again
    assert [n.number for n in await archive.latest(ALICE)] == [3, 2]
    assert [n.number for n in await archive.latest(ALICE, 1)] == [3]


async def test_a_note_keeps_everything(archive: Archive) -> None:
    when = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    kept = NewNote(
        title="Lecture",
        markdown="# Lecture\n\n## Page 1\n\nclean text\n\n## Page 2\n\n> failed\n",
        pages=[
            ArchivedPage(1, raw="c1ean text", polished="clean text"),
            ArchivedPage(2, raw="", error="the model timed out"),
        ],
        source=Source("files", files=("a.jpg", "b.jpg")),
        category="work",
        keywords=["one", "two", "three", "four", "five", "six"],
        language="en",
        model="qwen-vl-ocr + qwen-plus",
        engine="vlm",
        created_at=when,
    )
    number = await archive.add(CLI := "cli:local", kept)
    got = await archive.get(CLI, number)
    assert got is not None
    assert got.created_at == when
    assert got.keywords == ("one", "two", "three", "four", "five")
    assert got.source == Source("files", files=("a.jpg", "b.jpg"))
    assert (got.model, got.engine, got.language) == ("qwen-vl-ocr + qwen-plus", "vlm", "en")
    assert got.pages[1].error == "the model timed out"
    assert got.pages[0].raw == "c1ean text"
    assert got.markdown == kept.markdown
    assert got.file_name == "0001 Lecture.md"


async def test_the_export_opens_as_a_vault(archive: Archive) -> None:
    await archive.add(ALICE, LINEAR)
    await archive.add(ALICE, ENGLISH)
    await archive.add(ALICE, note("CON", "reserved name on Windows", category="a/b:c*?"))
    await archive.add(ALICE, note(" .hidden: yes/no? ", "dots and colons", category="..."))
    await archive.add(ALICE, note("---\ntitle: injected", "front matter injection", category="CS"))
    await archive.add(BOB, note("Bob's", "not Alice's"))
    data = await archive.export(ALICE)
    with zipfile.ZipFile(io.BytesIO(data)) as vault:
        names = vault.namelist()
        assert len(names) == 5 and len({n.casefold() for n in names}) == 5
        metas = {}
        for name in names:
            folder, file_name = name.split("/")
            for part in (folder, file_name):
                validate_filename(part, platform="universal")
                assert not part.startswith(".")
            text = vault.read(name).decode("utf-8")
            lines = text.split("\n")
            assert lines[0] == "---"
            end = lines.index("---", 1)  # where Obsidian ends the front matter
            meta = yaml.safe_load("\n".join(lines[1:end]))
            body = "\n".join(lines[end + 1 :])
            assert set(meta) >= {"title", "date", "category", "keywords", "source"}
            assert body.lstrip().startswith("# ")
            metas[meta["title"]] = (folder, file_name, meta)
    folder, file_name, meta = metas["线性代数 第三讲"]
    assert folder == "学习" and file_name == "0001 线性代数 第三讲.md"
    assert meta["keywords"] == ["特征值", "矩阵"]
    assert meta["source"] == {"kind": "telegram", "chat": 1001, "message": 42}
    first = await archive.get(ALICE, 1)
    assert first is not None and meta["date"] == first.created_at.date()
    assert metas["CON"][2]["category"] == "a/b:c*?"
    assert metas["--- title: injected"][0] == "CS"
    assert "Bob's" not in metas


async def test_forget_and_retention(archive: Archive) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    await archive.add(ALICE, note("old", "矩阵", created_at=old))
    await archive.add(ALICE, note("new", "矩阵"))
    await archive.add(BOB, note("bob", "矩阵"))
    assert await archive.prune() == 0  # default: keep everything
    archive.retention_days = 30
    assert await archive.prune() == 1
    assert [h.title for h in await archive.search(ALICE, "矩阵")] == ["new"]
    assert await archive.forget(ALICE) == 1
    assert await archive.count(ALICE) == 0
    assert await archive.search(ALICE, "矩阵") == []
    assert [h.title for h in await archive.search(BOB, "矩阵")] == ["bob"]


async def test_notes_kept_at_once_get_distinct_numbers(archive: Archive) -> None:
    numbers = await asyncio.gather(*(archive.add(ALICE, note(f"n{i}", "矩阵")) for i in range(8)))
    assert sorted(numbers) == list(range(1, 9))
    assert await archive.count(ALICE) == 8
