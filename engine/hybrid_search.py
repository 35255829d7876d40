"""Search that matches words and meaning: exact substring hits fused with vector neighbours by reciprocal rank fusion.

    search = HybridSearch.from_session(session)
    found = search.search("电池", k=50, within=filter_mask)
    found.rows, found.how            # ranked corpus rows; "word", "meaning" or "both" each
    found.word_rows                  # every row the words match (for "mark all matching")

A query's words are matched as case-insensitive substrings (Chinese included: ``电池`` matches
``电池不耐用``); a row matches when it holds every word.  One-letter Latin words are left to the
meaning part.  A query with double quotes (``"battery life"``, also ``“…”``) matches exactly: only rows
holding every quoted phrase and every other word, no vector neighbours; an opening quote not yet closed
quotes the rest (a query being typed).  Word hits are ranked shortest text first (the phrase is more of
the text); the two ranked lists are fused by ``1 / (RRF_K + rank)`` summed over the lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import polars as pl

WORD, MEANING, BOTH = "word", "meaning", "both"
#: The constant of reciprocal rank fusion (Cormack et al. 2009): a larger one flattens the ranks' weights.
RRF_K = 60
#: Each ranked list contributes at least this many candidates to the fusion.
POOL = 100
#: A query extending the last one is searched among its hits when they are at most this share of the rows.
NARROW_SHARE = 0.25
_QUOTED = re.compile(r'"([^"]*)(?:"|$)|“([^”]*)(?:”|$)')
_ONE_LATIN = re.compile(r"^[\x00-\x7f]$")


@dataclass(frozen=True)
class Query:
    """A parsed query: the words or phrases rows must hold, whether only they count (``exact``), the text for
    the vector part (``meaning``: empty when exact)."""

    words: tuple[str, ...]
    exact: bool
    meaning: str


def parse_query(query: str) -> Query:
    """Split ``query`` into the substrings to match and the text to embed (see the module)."""
    query = query.strip()
    quoted = [a if a is not None else b for a, b in (m.groups() for m in _QUOTED.finditer(query))]
    if quoted:
        rest = _QUOTED.sub(" ", query).split()
        words = [w.strip() for w in quoted if w and w.strip()] + rest
        return Query(tuple(dict.fromkeys(words)), True, "")
    words = [w for w in query.split() if not _ONE_LATIN.match(w)]
    return Query(tuple(dict.fromkeys(words)), False, query)


class KeywordIndex:
    """Lower-cased texts in one polars column, searched for literal substrings.

    The last search's hits are kept: a query that extends it (each word extended, words added: what typing
    does) is searched among those hits only, when they are fewer than :data:`NARROW_SHARE` of the rows.
    """

    def __init__(self, texts: list[str]) -> None:
        self._lower = pl.Series("text", texts, dtype=pl.String).str.to_lowercase()
        self.lengths = self._lower.str.len_chars().to_numpy().astype(np.int64)
        self._last: tuple[tuple[str, ...], np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.lengths)

    def matches(self, words: tuple[str, ...] | list[str], within: np.ndarray | None = None) -> np.ndarray:
        """Bool mask of the texts holding every one of ``words`` (case-insensitive), within the ``within`` mask."""
        if not words:
            return np.zeros(len(self), dtype=bool)
        lowered = tuple(pl.Series(list(words), dtype=pl.String).str.to_lowercase().to_list())
        mask = self._narrowed(lowered)
        if mask is None:
            mask = _holding(self._lower, lowered)
        self._last = (lowered, mask)
        return mask & within if within is not None else mask.copy()

    def ranked(self, mask: np.ndarray) -> np.ndarray:
        """The rows of ``mask``, shortest text first (ties: file order)."""
        rows = np.flatnonzero(mask)
        return rows[np.argsort(self.lengths[rows], kind="stable")]

    def _narrowed(self, lowered: tuple[str, ...]) -> np.ndarray | None:
        """The hits of ``lowered`` found among the last search's hits, when it extends that search; else None."""
        last = self._last
        if last is None:
            return None
        words, hits = last
        if words == lowered:
            return hits
        if len(lowered) < len(words) or any(old not in new for old, new in zip(words, lowered)):
            return None
        rows = np.flatnonzero(hits)
        if len(rows) > NARROW_SHARE * len(self):
            return None
        mask = np.zeros(len(self), dtype=bool)
        mask[rows[_holding(self._lower.gather(rows), lowered)]] = True
        return mask


def _holding(texts: pl.Series, lowered: tuple[str, ...]) -> np.ndarray:
    """Bool mask of the (lower-cased) ``texts`` holding every one of the ``lowered`` words."""
    hit = texts.str.contains(lowered[0], literal=True)
    for word in lowered[1:]:
        hit = hit & texts.str.contains(word, literal=True)
    return hit.fill_null(False).to_numpy().astype(bool, copy=False)


@dataclass
class HybridResult:
    """Ranked corpus ``rows`` with how each matched (``how``), its fused score and its cosine to the query
    (NaN for a word-only match); ``word_rows``: every row the words match, ascending."""

    query: Query
    rows: np.ndarray
    how: list[str]
    scores: np.ndarray
    cosines: np.ndarray
    word_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.rows)


class HybridSearch:
    """Hybrid retrieval over one corpus: a :class:`KeywordIndex` of its texts and a vector search."""

    def __init__(self, texts: list[str], vector_search: Callable[[str, int, np.ndarray | None],
                                                                   tuple[np.ndarray, np.ndarray]] | None) -> None:
        """``vector_search(text, k, within)`` returns corpus rows and cosines (as ``Session.search_text``);
        None: words only."""
        self.keywords = KeywordIndex(texts)
        self.vector_search = vector_search

    @classmethod
    def from_session(cls, session) -> "HybridSearch":
        """A search over ``session``'s texts and its similarity index."""
        return cls(session.corpus.texts, session.search_text)

    def search(self, query: str | Query, k: int = 50, within: np.ndarray | None = None) -> HybridResult:
        """The ``k`` best rows for ``query`` (only among ``within``, a bool mask over the corpus rows, when given)."""
        parsed = query if isinstance(query, Query) else parse_query(query)
        word_mask = self.keywords.matches(parsed.words, within)
        word_rows = np.flatnonzero(word_mask)
        pool = max(k, POOL)
        by_word = self.keywords.ranked(word_mask)[:pool]
        if parsed.exact or not parsed.meaning or self.vector_search is None:
            by_word = by_word[:k]
            return HybridResult(parsed, by_word, [WORD] * len(by_word), 1.0 / (RRF_K + 1 + np.arange(len(by_word))),
                                np.full(len(by_word), np.nan, dtype=np.float32), word_rows)
        by_meaning, cosines = self.vector_search(parsed.meaning, pool, within)
        return _fuse(parsed, by_word, by_meaning, cosines, k, word_rows)


def _fuse(query: Query, by_word: np.ndarray, by_meaning: np.ndarray, cosines: np.ndarray, k: int,
          word_rows: np.ndarray) -> HybridResult:
    """Reciprocal rank fusion of two ranked lists of rows."""
    rows = np.concatenate([by_word, by_meaning]).astype(np.int64)
    ranks = np.concatenate([np.arange(len(by_word)), np.arange(len(by_meaning))])
    unique, inverse = np.unique(rows, return_inverse=True)
    scores = np.bincount(inverse, weights=1.0 / (RRF_K + 1 + ranks), minlength=len(unique))
    in_word = np.zeros(len(unique), dtype=bool)
    in_word[inverse[: len(by_word)]] = True
    in_meaning = np.zeros(len(unique), dtype=bool)
    in_meaning[inverse[len(by_word):]] = True
    cosine = np.full(len(unique), np.nan, dtype=np.float32)
    cosine[inverse[len(by_word):]] = cosines
    order = np.lexsort((unique, -np.nan_to_num(cosine, nan=-2.0), -scores))[:k]
    how = [BOTH if w and m else WORD if w else MEANING for w, m in zip(in_word[order], in_meaning[order])]
    return HybridResult(query, unique[order], how, scores[order], cosine[order], word_rows)
