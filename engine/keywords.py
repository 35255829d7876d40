"""Cluster keywords by class-based TF-IDF: a cluster's terms weighted against all clusters.

For term t and cluster c: ``tf(t, c)`` is t's share of c's tokens and
``idf(t) = log(1 + A / f(t))`` with A the mean number of tokens per cluster and
f(t) t's count over all clusters (BERTopic's c-TF-IDF).  Terms are unigrams
and bigrams of adjacent tokens (:func:`engine.tokenize.terms`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from engine.progress import CancelToken, check
from engine.tokenize import terms

if TYPE_CHECKING:
    import scipy.sparse as sp

TOP_N = 10


def document_terms(texts: Sequence[str], analyzer: Callable[[str], list[str]] = terms) -> tuple[sp.csr_matrix, np.ndarray]:
    """Term counts per text (sparse, n × V) and the vocabulary; computed once, reused per clustering."""
    from sklearn.feature_extraction.text import CountVectorizer  # here: a slow import that a cached reopen never needs

    min_df = 2 if len(texts) >= 200 else 1
    vectorizer = CountVectorizer(analyzer=analyzer, min_df=min_df, dtype=np.float32)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary: nothing but stop words, numbers and punctuation
        import scipy.sparse as sp

        return sp.csr_matrix((len(texts), 0), dtype=np.float32), np.empty(0, dtype=object)
    return matrix.tocsr(), vectorizer.get_feature_names_out()


def class_tfidf(doc_terms: sp.csr_matrix, labels: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
    """c-TF-IDF matrix (clusters × V) for ``labels`` (any ints, noise included as its own class)."""
    import scipy.sparse as sp  # here: a reopen whose keywords are cached never needs scipy

    classes, inverse = np.unique(labels, return_inverse=True)
    member = sp.csr_matrix((np.ones(len(labels), dtype=np.float32), (inverse.ravel(), np.arange(len(labels)))),
                           shape=(len(classes), len(labels)))
    counts = (member @ doc_terms).tocsr()
    totals = np.asarray(counts.sum(axis=1)).ravel()
    tf = sp.diags(1.0 / np.maximum(totals, 1.0)) @ counts
    freq = np.asarray(counts.sum(axis=0)).ravel()
    avg = totals.mean() if len(totals) else 0.0
    idf = np.log1p(avg / np.maximum(freq, 1.0))
    return classes, (tf @ sp.diags(idf)).tocsr()


def cluster_keywords(doc_terms: sp.csr_matrix, vocabulary: np.ndarray, labels: np.ndarray,
                     top_n: int = TOP_N, cancel: CancelToken | None = None) -> dict[int, list[tuple[str, float]]]:
    """Top ``top_n`` (term, weight) per cluster id, weights descending; a bigram hides its own unigrams' repeats."""
    out: dict[int, list[tuple[str, float]]] = {}
    if doc_terms.shape[1] == 0 or len(labels) == 0:
        return {int(c): [] for c in np.unique(labels)}
    classes, weights = class_tfidf(doc_terms, labels)
    for row, cls in enumerate(classes):
        check(cancel)
        start, end = weights.indptr[row], weights.indptr[row + 1]
        idx, vals = weights.indices[start:end], weights.data[start:end]
        order = np.argsort(-vals, kind="stable")[: top_n * 3]
        picked: list[tuple[str, float]] = []
        for j in order:
            term = str(vocabulary[idx[j]])
            if _redundant(term, picked):
                continue
            picked.append((term, float(vals[j])))
            if len(picked) == top_n:
                break
        out[int(cls)] = picked
    return out


def _redundant(term: str, picked: list[tuple[str, float]]) -> bool:
    """A bigram whose words were both already picked, or a word inside an already picked bigram."""
    words = term.split(" ")
    have = {t for t, _ in picked}
    if len(words) > 1:
        return all(w in have for w in words)
    return any(" " in t and term in t.split(" ") for t in have)


def suggest_name(keywords: list[tuple[str, float]], n: int = 3) -> str:
    """A cluster name from its top keywords, e.g. 'refund / delivery / late'."""
    return " / ".join(t for t, _ in keywords[:n]) if keywords else ""
