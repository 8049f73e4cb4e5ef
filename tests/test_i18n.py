"""The message catalogue: every key the code uses is in every language, nothing is left over,
plurals follow the count, and values are escaped only where the text is HTML."""

from __future__ import annotations

import io
import re
import string
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import notelens
from notelens.i18n import LANGS, catalogue, catalogue_text, detect_language, megabytes, plain, t
from notelens.telegram.i18n import too_big_text

PACKAGE = Path(notelens.__file__).parent
# The call forms that name a message: t(lang, "key", ...), plain(lang, "key", ...), N_("key").
KEYWORDS = {"t": (2,), "plain": (2,), "N_": None}


def used_keys() -> dict[str, list[str]]:
    """Every key Babel's extractor finds in the package source, with where it is used."""
    found: dict[str, list[str]] = defaultdict(list)
    for filename, line, key, _comments, _context in extract_from_dir(
        PACKAGE, method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        assert isinstance(key, str), (filename, line, key)
        found[key].append(f"{filename}:{line}")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_used_in_code_is_in_every_catalogue_and_every_entry_is_used() -> None:
    used = used_keys()
    assert len(used) > 100  # the extraction really ran over the source
    for lang in LANGS:
        keys = catalogue(lang).keys
        missing = {k: used[k] for k in used if k not in keys}
        assert not missing, f"used in code, missing from {lang}: {missing}"
        unused = sorted(keys - set(used))
        assert not unused, f"in the {lang} catalogue, used by no code: {unused}"


def test_the_languages_agree_on_keys_plurals_and_placeholders() -> None:
    zh, en = (read_po(_source(lang), locale=lang) for lang in ("zh", "en"))
    assert catalogue("zh").plural_keys == catalogue("en").plural_keys
    assert en.num_plurals == 2 and zh.num_plurals == 1
    for message in en:
        if not message.id:
            continue
        other = zh[message.id]
        assert other is not None and not other.fuzzy and not message.fuzzy, message.id
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        forms += [other.string] if isinstance(other.string, str) else list(other.string)
        assert all(forms), f"{message.id}: an empty translation"
        assert len({frozenset(placeholders(f)) for f in forms}) == 1, message.id


def _source(lang: str) -> io.StringIO:
    return io.StringIO(catalogue_text(lang))


@pytest.mark.parametrize(
    ("key", "values", "one", "many"),
    [
        ("cleared", {}, "🗑 Deleted 1 receipt.", "🗑 Deleted 3 receipts."),
        ("receipt_more_items", {}, "… and 1 more item", "… and 3 more items"),
        ("progress_done", {}, "✅ Done: 1 page", "✅ Done: 3 pages"),
        ("export_caption", {"period": "2026-11"}, "🧾 1 receipt · 2026-11", "🧾 3 receipts"),
        ("doc_summary", {"day": "2026-12-01", "failed": ""}, "> 1 page · ", "> 3 pages · "),
        ("in_chats", {}, "in 1 chat", "in 3 chats"),
    ],
)
def test_english_plurals_follow_the_count(
    key: str, values: dict[str, str], one: str, many: str
) -> None:
    assert t("en", key, n=1, **values).startswith(one)
    assert t("en", key, n=3, **values).startswith(many)


def test_chinese_has_one_form() -> None:
    assert t("zh", "cleared", n=1) == "🗑 已删除 1 张小票。"
    assert t("zh", "cleared", n=3) == "🗑 已删除 3 张小票。"


def test_html_escapes_values_plain_text_does_not() -> None:
    assert t("en", "cb_not_yours", name="Tom & Jerry") == (
        "Only Tom &amp; Jerry (who paid) or an admin can do this."
    )
    assert plain("en", "cb_not_yours", name="Tom & Jerry") == (
        "Only Tom & Jerry (who paid) or an admin can do this."
    )
    # Plain text drops the catalogue's own markup but keeps a value's angle brackets.
    assert plain("en", "unsupported_file", name="<b>.txt") == (
        "I can only read images (JPEG, PNG, WebP, HEIC…) and PDFs; this file (<b>.txt) is neither."
    )
    refused = plain("zh", "refused", user_id=42)
    assert "<code>" not in refused and "42" in refused


def test_unknown_keys_and_languages() -> None:
    with pytest.raises(KeyError):
        t("en", "no_such_message")
    assert t("fr", "btn_retry") == t("en", "btn_retry")  # any other language gets English


def test_detect_language_by_share_of_cjk() -> None:
    assert detect_language("Meeting notes: budget, hiring and the Q3 plan") == "en"
    assert detect_language("会议记录：预算、招聘和第三季度计划") == "zh"
    assert detect_language("线性代数 lecture 3: 矩阵的秩 rank") == "zh"
    assert detect_language("Python 3.11 release notes 发布") == "en"  # a stray word is not enough
    assert detect_language("12 + 34 = 46", default="zh") == "zh"  # no letters: the default


def test_catalogues_ship_as_package_data() -> None:
    pyproject = (PACKAGE.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"locale/\*/LC_MESSAGES/\*\.po"', pyproject)
    for lang in LANGS:
        assert (PACKAGE / "locale" / lang / "LC_MESSAGES" / "notelens.po").is_file()


def test_megabytes_as_telegram_counts_them() -> None:
    assert megabytes(20 * 2**20) == "20"  # Telegram's "20 MB", not 21
    assert megabytes(25_000_000) == "23.8"
    assert too_big_text("zh", None, 20 * 2**20).endswith("请压缩或裁剪后再发。")
    assert "?" in too_big_text("en", None, 20 * 2**20)
