"""Hybrid search on the sample with the real bundled model: word hits (Chinese substrings too), meaning, quotes, filters."""

from __future__ import annotations

import numpy as np
import pytest

from engine.hybrid_search import BOTH, MEANING, WORD, HybridSearch, parse_query
from engine.options import SessionOptions
from engine.row_filter import RowFilter
from engine.session import Session
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def session(embedder):
    return Session.open(SAMPLE, SessionOptions(), embedder=embedder)


@pytest.fixture(scope="module")
def search(session):
    return HybridSearch.from_session(session)


def test_a_chinese_substring_finds_every_row_holding_it_marked_as_word_matches(session, search):
    texts = session.corpus.texts
    holding = [i for i, t in enumerate(texts) if "电池" in t]
    assert len(holding) >= 3
    found = search.search("电池", k=40)
    assert found.word_rows.tolist() == holding
    how = dict(zip(found.rows.tolist(), found.how))
    for row in holding:
        assert how[row] in (WORD, BOTH)
    for row, kind in how.items():
        assert (kind == MEANING) == ("电池" not in texts[row])
    assert MEANING in found.how  # the vector part adds rows without the word
    assert len(set(found.rows.tolist())) == len(found.rows)
    assert np.all(np.diff(found.scores) <= 1e-12)


def test_latin_words_match_case_insensitively_and_every_word_must_match(session, search):
    texts = session.corpus.texts
    found = search.search("BATTERY", k=20)
    assert found.word_rows.tolist() == [i for i, t in enumerate(texts) if "battery" in t.lower()]
    both = search.search("battery dead", k=20)
    assert both.word_rows.tolist() == [i for i, t in enumerate(texts)
                                       if "battery" in t.lower() and "dead" in t.lower()]


def test_a_quoted_phrase_matches_exactly_and_only(session, search):
    texts = session.corpus.texts
    found = search.search('"电池"', k=100)
    assert sorted(found.rows.tolist()) == [i for i, t in enumerate(texts) if "电池" in t]
    assert set(found.how) == {WORD} and np.isnan(found.cosines).all()
    phrase = search.search('"battery life"', k=100)
    assert sorted(phrase.rows.tolist()) == [i for i, t in enumerate(texts) if "battery life" in t.lower()]
    assert parse_query('"batt').exact and parse_query('"batt').words == ("batt",)  # being typed


def test_meaning_alone_ranks_by_the_models_cosine(session, search):
    found = search.search("the charger broke", k=10)
    rows, cosines = session.search_text("the charger broke", 100)
    meaning = [r for r, h in zip(found.rows.tolist(), found.how) if h == MEANING]
    assert meaning == [r for r in rows.tolist() if r in set(meaning)]  # the vector order is kept among them


def test_a_filter_restricts_word_and_meaning_hits(session, search):
    mask = RowFilter(session.corpus).mask("rating <= 2")
    found = search.search("电池", k=40, within=mask)
    assert len(found) > 0 and mask[found.rows].all()
    assert found.word_rows.tolist() == [i for i, t in enumerate(session.corpus.texts) if "电池" in t and mask[i]]
    rows, _ = session.search_text("battery", 15, within=mask)
    assert mask[rows].all() and len(rows) == 15


def test_typing_narrows_the_last_hits_and_finds_what_a_fresh_search_finds(session):
    from engine.hybrid_search import KeywordIndex

    texts = session.corpus.texts
    typing = KeywordIndex(texts)
    for query in ("b", "ba", "bat", "batt", "battery", "battery d", "battery de", "battery dead", "电", "电池"):
        words = parse_query(query).words
        got = typing.matches(words)
        fresh = KeywordIndex(texts).matches(words)
        assert got.tolist() == fresh.tolist(), query
        got[:] = True  # the caller's copy: the kept hits are not changed through it
        assert typing.matches(words).tolist() == fresh.tolist(), query
    assert typing.matches(("电池",)).sum() == sum("电池" in t for t in texts)
