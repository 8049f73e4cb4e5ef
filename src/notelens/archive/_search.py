"""Search words → one SQL query per dialect, ranked; snippets cut around the first match.

Trigrams need three characters, and Chinese words are often two (线代, 矩阵). Words of
three or more characters go through the index (FTS5 MATCH on SQLite, a `pg_trgm` GIN
index on PostgreSQL); shorter ones are a LIKE over the owner's own notes only, which the
index of owner and date keeps small. Every word must match (AND).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ._tables import PG_DOCUMENT

MIN_TRIGRAM = 3
MAX_WORDS = 8
SNIPPET_CHARS = 120
_WORD = re.compile(r"[^\s\"'“”‘’「」『』]+")


def split_words(query: str) -> list[str]:
    """Words of a search, each once, at most MAX_WORDS, lower-cased (both indexes ignore case)."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(query))
    return list(words)[:MAX_WORDS]


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


@dataclass
class Query:
    sql: sa.TextClause
    params: dict[str, Any]


_COLUMNS = "n.number, n.title, n.category, n.created_at, n.body"
_SQLITE_DOCUMENT = "(n.title || ' ' || n.keywords || ' ' || n.category || ' ' || n.body)"


def build(dialect: str, owner: str, words: list[str], limit: int) -> Query:
    params: dict[str, Any] = {"owner": owner, "limit": limit}
    long = [w for w in words if len(w) >= MIN_TRIGRAM]
    likes: list[str] = []
    for i, word in enumerate(words):
        if dialect == "postgresql" or len(word) < MIN_TRIGRAM:
            params[f"w{i}"] = _like_pattern(word)
            target = PG_DOCUMENT if dialect == "postgresql" else _SQLITE_DOCUMENT
            likes.append(f"{target} LIKE :w{i} ESCAPE '\\'")
    where = " AND ".join(["n.owner = :owner", *likes])
    if dialect == "sqlite" and long:
        params["match"] = " AND ".join(_fts_phrase(w) for w in long)
        sql = f"""SELECT {_COLUMNS}, bm25(archive_fts, 5.0, 3.0, 2.0, 1.0) AS rank
            FROM archive_fts JOIN archive_notes AS n ON n.note_id = archive_fts.rowid
            WHERE archive_fts MATCH :match AND {where}
            ORDER BY rank, n.number DESC LIMIT :limit"""
        return Query(sa.text(sql), params)
    # Ranked by how often the words occur (title counted thrice), newest first on ties.
    target = PG_DOCUMENT if dialect == "postgresql" else f"lower({_SQLITE_DOCUMENT})"
    counts = []
    for i, word in enumerate(words):
        params[f"r{i}"] = word
        counts.append(
            f"(length({target}) - length(replace({target}, :r{i}, ''))) / length(:r{i})"
            f" + 2 * (length(lower(n.title)) - length(replace(lower(n.title), :r{i}, '')))"
            f" / length(:r{i})"
        )
    sql = f"""SELECT {_COLUMNS}, -({" + ".join(counts)}) AS rank
        FROM archive_notes AS n WHERE {where}
        ORDER BY rank, n.number DESC LIMIT :limit"""
    return Query(sa.text(sql), params)


def snippet(
    text: str, words: list[str], width: int = SNIPPET_CHARS
) -> tuple[str, list[tuple[int, int]]]:
    """About `width` characters around the first match, with the spans of every word in it."""
    folded = text.lower()
    hits = [p for p in (folded.find(w) for w in words) if p >= 0]
    first = min(hits) if hits else 0
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    piece = " ".join(text[start:end].split())
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    out = prefix + piece + suffix
    spans: list[tuple[int, int]] = []
    low = out.lower()
    for w in words:
        for m in re.finditer(re.escape(w), low):
            spans.append((m.start(), m.end()))
    return out, sorted(spans)
