"""c-TF-IDF keywords and the mixed-language tokenizer."""

from __future__ import annotations

import numpy as np

from engine.keywords import class_tfidf, cluster_keywords, document_terms, suggest_name
from engine.tokenize import terms, tokenize


def test_tokenizer_drops_stop_words_numbers_and_punctuation():
    assert tokenize("The battery, it is 100% DEAD!!") == ["battery", "dead"]


def test_chinese_is_segmented_into_words():
    tokens = tokenize("退款速度太慢了，客服态度很差")
    assert "退款" in tokens and "客服" in tokens and "态度" in tokens
    assert all(len(t) > 1 for t in tokens) and "，" not in "".join(tokens)


def test_bigrams_never_cross_stop_words_or_punctuation():
    got = terms("exchange rate. rate is wrong")
    assert "exchange rate" in got and "rate rate" not in got and "rate wrong" not in got


def test_keywords_name_what_sets_a_cluster_apart():
    texts = ["battery drains fast", "battery dies quickly", "battery life poor",
             "delivery was late", "late delivery again", "delivery took weeks",
             "screen is bright", "bright screen colours", "screen cracked"] * 30
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2] * 30)
    matrix, vocab = document_terms(texts)
    keywords = cluster_keywords(matrix, vocab, labels)
    assert keywords[0][0][0] == "battery" and keywords[1][0][0] == "delivery" and keywords[2][0][0] == "screen"
    assert all(len(k) <= 10 for k in keywords.values())
    weights = [w for _, w in keywords[0]]
    assert weights == sorted(weights, reverse=True)
    assert suggest_name(keywords[1]).startswith("delivery")


def test_common_terms_weigh_less_than_distinctive_ones():
    texts = ["phone battery", "phone battery", "phone screen", "phone screen"]
    matrix, vocab = document_terms(texts)
    classes, weights = class_tfidf(matrix, np.array([0, 0, 1, 1]))
    col = {t: i for i, t in enumerate(vocab)}
    w = weights.toarray()
    assert w[0, col["battery"]] > w[0, col["phone"]]


def test_no_vocabulary_gives_empty_keywords():
    matrix, vocab = document_terms(["!!!", "123", "the of and"])
    assert cluster_keywords(matrix, vocab, np.array([0, 0, 1])) == {0: [], 1: []}


def test_terminal_escape_sequences_make_no_keywords():
    """Colour codes, titles and cursor moves pasted into a text (7-bit and C1 forms) are not words."""
    assert tokenize("\x1b[31mRED\x1b[0m alert") == ["red", "alert"]
    assert tokenize("\x1b]0;my title\x07 \x1b]8;;http://x.example\x1b\\link\x1b]8;;\x1b\\ \x9b1mbold\x9bm") == [
        "link", "bold"]
    assert tokenize("low\x1b[1;33mbat\x1b[0mtery\x00warning\x1bM") == ["lowbattery", "warning"]
    assert "battery life" in terms("\x1b[1mbattery\x1b[0m life")
    texts = ["\x1b[31mbattery\x1b[0m dead", "\x1b[31mbattery\x1b[0m drains", "screen \x1b[32mcracked\x1b[0m",
             "screen \x1b[32mbroken\x1b[0m"]
    matrix, vocab = document_terms(texts)
    assert not [t for t in vocab if t[:1] == "m" or "31" in t or "0m" in t], vocab
    keywords = cluster_keywords(matrix, vocab, np.array([0, 0, 1, 1]))
    assert keywords[0][0][0] == "battery" and keywords[1][0][0] == "screen"
