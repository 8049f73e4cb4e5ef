"""Search words → one SQL query per dialect, ranked; snippets cut around the first match.

Every word must match (AND); case is ignored. Trigrams need three characters, and Chinese
words are often two (矩阵, 宋代):
- SQLite: a word of three or more characters is an FTS5 phrase. A two-character word
  becomes "any trigram that begins with it", read from the index's own term list
  (fts5vocab, a range scan), since every occurrence begins a trigram (each column is
  indexed with a space after it). `benchmarks/archive.py`, 10,000 notes of one owner:
  8 ms p50 against 39 ms for a LIKE scan that stops at the tenth match.
  A single character is a LIKE over the owner's notes.
- PostgreSQL: LIKE on a lower-cased copy of the text, which the `pg_trgm` GIN index
  answers for three characters or more; shorter words scan the owner's notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

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
_FIELDS = ("n.title", "n.keywords", "n.category", "n.body")
MAX_EXPANSION = 5000  # trigrams a two-character word may stand for; past that, LIKE


def _occurrences(text: str, param: str) -> str:
    return f"(length({text}) - length(replace({text}, :{param}, ''))) / length(:{param})"


def needs_expansion(dialect: str, word: str) -> bool:
    return dialect == "sqlite" and len(word) == MIN_TRIGRAM - 1


EXPANSION_SQL = sa.text(
    "SELECT term FROM archive_fts_terms WHERE term >= :low AND term < :high LIMIT :cap"
).bindparams(cap=MAX_EXPANSION + 1)


def expansion_params(word: str) -> dict[str, str]:
    return {"low": word, "high": word + "\U0010ffff"}


def build(
    dialect: str,
    owner: str,
    words: list[str],
    limit: int,
    expansions: dict[str, list[str]] | None = None,
) -> Query | None:
    """The query, or None when a word cannot match anything."""
    expansions = expansions or {}
    params: dict[str, Any] = {"owner": owner, "limit": limit}
    conditions = ["n.owner = :owner"]
    matches: list[str] = []
    ranks = []
    for i, word in enumerate(words):
        params[f"w{i}"], params[f"r{i}"] = _like_pattern(word), word
        ranks.append("2 * " + _occurrences("lower(n.title)", f"r{i}"))
        if dialect == "postgresql":
            conditions.append(f"n.search_doc LIKE :w{i} ESCAPE '\\'")
            ranks.append(_occurrences("n.search_doc", f"r{i}"))
        elif len(word) >= MIN_TRIGRAM:
            matches.append(_fts_phrase(word))
        elif word in expansions and len(expansions[word]) <= MAX_EXPANSION:
            if not expansions[word]:
                return None
            matches.append("(" + " OR ".join(_fts_phrase(t) for t in expansions[word]) + ")")
        else:
            fields = " OR ".join(f"{f} LIKE :w{i} ESCAPE '\\'" for f in _FIELDS)
            conditions.append(f"({fields})")
            ranks.append(_occurrences("n.body", f"r{i}"))
    where = " AND ".join(conditions)
    if matches:
        params["match"] = " AND ".join(matches)
        sql = f"""SELECT {_COLUMNS}, bm25(archive_fts, 5.0, 3.0, 2.0, 1.0) AS rank
            FROM archive_fts JOIN archive_notes AS n ON n.note_id = archive_fts.rowid
            WHERE archive_fts MATCH :match AND {where}
            ORDER BY rank, n.number DESC LIMIT :limit"""
        return Query(sa.text(sql), params)
    # Ranked by how often the words occur (in the title counting thrice), newest on ties.
    sql = f"""SELECT {_COLUMNS}, -({" + ".join(ranks)}) AS rank
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
