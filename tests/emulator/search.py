"""A small stand-in for MusicBrainz's Lucene search.

Understands what Sidetrack sends: ``field:(escaped terms)``, ``field:"phrase"``,
bare terms, ``AND``/``OR``/``NOT`` and ``+``/``-``, backslash escapes and date
ranges (``firstreleasedate:[1997 TO 1997-12-31]``). Hits are ranked by token
overlap, scored 0-100: an exact title/artist match scores 100, noise in the query
(``(Remastered)``) lowers the score, and a quoted phrase must appear as is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.data import fold

_WORD = re.compile(r"\w+")
_OPERATOR = re.compile(r"(AND|OR|NOT|&&|\|\|)(?=[\s(\"]|$)")
_FIELD = re.compile(r"([A-Za-z][\w\-]*):")
_OPERATOR_WORDS = frozenset({"AND", "OR", "NOT"})


def tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


@dataclass
class Clause:
    field: str | None
    text: str  # escapes removed
    kind: str = "terms"  # "terms" | "phrase" | "range"
    occur: str = "should"  # "should" | "must" | "must_not"
    low: str = "*"
    high: str = "*"
    _modifier: str | None = None
    _op_before: str | None = None


def _unescape(raw: str) -> str:
    out = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def _read_until(query: str, i: int, closers: str) -> tuple[str, int]:
    """Raw text up to the first unescaped closer (nesting parentheses); i is past it."""
    depth = 0
    start = i
    while i < len(query):
        char = query[i]
        if char == "\\":
            i += 2
            continue
        if char == "(" and ")" in closers:
            depth += 1
        elif char in closers:
            if depth == 0:
                return query[start:i], i + 1
            depth -= 1
        i += 1
    return query[start:], i


def _read_term(query: str, i: int) -> tuple[str, int]:
    start = i
    while i < len(query) and not query[i].isspace() and query[i] != ")":
        i += 2 if query[i] == "\\" else 1
    return query[start:i], i


def parse_query(query: str) -> list[Clause]:
    clauses: list[Clause] = []
    pending_op: str | None = None
    modifier: str | None = None
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace() or char == ")":
            i += 1
            continue
        operator = _OPERATOR.match(query, i)
        if operator:
            op = {"&&": "AND", "||": "OR"}.get(operator.group(1), operator.group(1))
            if op == "NOT":
                modifier = "-"
            else:
                pending_op = op
            i = operator.end()
            continue
        if char in "+-!" and modifier is None:
            modifier = "+" if char == "+" else "-"
            i += 1
            continue
        name = None
        field_match = _FIELD.match(query, i)
        if field_match:
            name = field_match.group(1).lower()
            i = field_match.end()
        clause = Clause(field=name, text="", _modifier=modifier, _op_before=pending_op)
        if i < len(query) and query[i] == "(":
            raw, i = _read_until(query, i + 1, ")")
            # A group is a bag of terms; bare upper-case operator words inside it are dropped.
            words = [w for w in raw.split() if w not in _OPERATOR_WORDS]
            clause.text = _unescape(" ".join(words)).replace('"', " ")
        elif i < len(query) and query[i] == '"':
            raw, i = _read_until(query, i + 1, '"')
            clause.text, clause.kind = _unescape(raw), "phrase"
        elif i < len(query) and query[i] in "[{":
            raw, i = _read_until(query, i + 1, "]}")
            parts = raw.split(" TO ")
            clause.kind = "range"
            clause.low = _unescape(parts[0].strip()) or "*"
            clause.high = _unescape(parts[-1].strip()) or "*"
        else:
            raw, i = _read_term(query, i)
            clause.text = _unescape(raw)
        clauses.append(clause)
        modifier = pending_op = None
    for index, clause in enumerate(clauses):
        next_op = clauses[index + 1]._op_before if index + 1 < len(clauses) else None
        if clause._modifier == "-":
            clause.occur = "must_not"
        elif clause._modifier == "+" or "AND" in (clause._op_before, next_op):
            clause.occur = "must"
    return clauses


# --- documents and index ----------------------------------------------------------


@dataclass
class Doc:
    entity: Any
    sort_key: str
    text: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # multi-valued
    keywords: dict[str, set[str]] = field(default_factory=dict)  # ids, types: exact match
    dates: dict[str, list[str]] = field(default_factory=dict)


def _date_bounds(value: str, *, low: bool) -> tuple[int, int, int] | None:
    match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value)
    if not match:
        return None
    year, month, day = match.groups()
    return (
        int(year),
        int(month) if month else (1 if low else 12),
        int(day) if day else (1 if low else 31),
    )


def _date_matches(clause: Clause, value: str) -> bool:
    start, end = _date_bounds(value, low=True), _date_bounds(value, low=False)
    if start is None or end is None:
        return False
    if clause.kind == "range":
        low = _date_bounds(clause.low, low=True) if clause.low != "*" else None
        high = _date_bounds(clause.high, low=False) if clause.high != "*" else None
        return (low is None or end >= low) and (high is None or start <= high)
    return value.startswith(clause.text.strip())


def _overlap(query: tuple[str, ...], value: tuple[str, ...], phrase: bool) -> float:
    if not value:
        return 0.0
    if phrase:
        n = len(query)
        if not any(value[i : i + n] == query for i in range(len(value) - n + 1)):
            return 0.0
    wanted, have = set(query), set(value)
    matched = len(wanted & have)
    if not matched:
        return 0.0
    # Recall weighs most (what the user typed), precision breaks ties (extra words).
    return 0.75 * matched / len(wanted) + 0.25 * matched / len(have)


class SearchIndex:
    """Docs of one entity type, an inverted index over their text fields, and field aliases."""

    def __init__(self, docs: list[Doc], *, default_field: str, aliases: dict[str, str]) -> None:
        self.docs = docs
        self.default_field = default_field
        self.aliases = aliases
        self.postings: dict[str, set[int]] = {}
        self.text_fields: set[str] = set()
        self.keyword_fields: set[str] = set()
        self.date_fields: set[str] = set()
        for number, doc in enumerate(docs):
            self.text_fields.update(doc.text)
            self.keyword_fields.update(doc.keywords)
            self.date_fields.update(doc.dates)
            for values in doc.text.values():
                for value in values:
                    for token in value:
                        self.postings.setdefault(token, set()).add(number)

    def _field(self, clause: Clause) -> str:
        name = clause.field or self.default_field
        return self.aliases.get(name, name)

    def _clause_score(self, clause: Clause, doc: Doc) -> float | None:
        name = self._field(clause)
        if name in self.text_fields:
            query = tokens(clause.text)
            if not query:
                return None
            values = doc.text.get(name, [])
            return max((_overlap(query, v, clause.kind == "phrase") for v in values), default=0.0)
        if name in self.keyword_fields:
            # "rid:(a OR b)": any of the group's values (operator words are dropped).
            wanted = fold(clause.text).split()
            return 1.0 if any(w in doc.keywords.get(name, ()) for w in wanted) else 0.0
        if name in self.date_fields:
            return 1.0 if any(_date_matches(clause, v) for v in doc.dates.get(name, ())) else 0.0
        return None  # unknown field: ignored rather than failing the whole query

    def search(self, query: str) -> list[tuple[Doc, int]]:
        clauses = parse_query(query)
        candidates = self._candidates(clauses)
        hits = []
        for number in candidates:
            doc = self.docs[number]
            scores = []
            required_ok = True
            any_should = False
            has_must = False
            for clause in clauses:
                score = self._clause_score(clause, doc)
                if score is None:
                    continue
                if clause.occur == "must_not":
                    if score > 0:
                        required_ok = False
                    continue
                scores.append(score)
                if clause.occur == "must":
                    has_must = True
                    required_ok = required_ok and score > 0
                elif score > 0:
                    any_should = True
            if not scores or not required_ok or not (has_must or any_should):
                continue
            hits.append((doc, round(100 * sum(scores) / len(scores))))
        hits.sort(key=lambda hit: (-hit[1], hit[0].sort_key))
        return hits

    def _candidates(self, clauses: list[Clause]) -> Iterable[int]:
        """Docs sharing a token with each required text clause (or with any, if none is)."""
        required: list[set[int]] = []
        optional: set[int] = set()
        for clause in clauses:
            if clause.kind == "range" or clause.occur == "must_not":
                continue
            name = self._field(clause)
            if name not in self.text_fields:
                continue
            found: set[int] = set()
            for token in tokens(clause.text):
                found |= self.postings.get(token, set())
            if clause.occur == "must":
                required.append(found)
            else:
                optional |= found
        if required:
            result = set.intersection(*required)
            return sorted(result)
        if optional:
            return sorted(optional)
        return range(len(self.docs))  # ids, dates or keywords only: scan everything


def cached_index(catalog: Any, kind: str, build: Callable[[], SearchIndex]) -> SearchIndex:
    """The catalog's index for ``kind``, rebuilt when the catalog changed since."""
    cached = catalog.indexes.get(kind)
    if cached is None or cached[0] != catalog.version:
        cached = (catalog.version, build())
        catalog.indexes[kind] = cached
    return cached[1]
