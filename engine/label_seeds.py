"""Start from labels you have: propose a label per cluster from a labels file or from an earlier labeled export.

Two sources, read before anything is embedded (:func:`read_labels_file`,
:func:`read_labeled_export`):

- ``--labels labels.txt``: one label a line, optionally ``name: description``
  (blank lines and lines starting with ``#`` are skipped).  Each description (else
  the name) is embedded as a search query (the model's query prompt, or the
  ``--instruction`` given: Qwen3-Embedding's instruction format); each row votes
  for the label nearest to it.
- ``--labels-from earlier.labeled.csv``: an earlier export (its ``text`` and
  ``cluster_label`` columns; noise, empty and rejected rows left out), embedded
  with the same model and cache; a classifier learned from it votes for each row.

A cluster's proposal is the label most of its rows vote for; its confidence is
the share of its rows that do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.progress import CancelToken, Progress, ProgressCallback, check

#: Labels a review export gives rows that are in no cluster: not labels to learn.
NOT_LABELS = frozenset({"noise", "unclustered", "empty text", "(empty text)", ""})


@dataclass
class LabelSeed:
    """One label of a labels file: its name and the description to embed (the name when none was given)."""

    name: str
    description: str


@dataclass
class LabeledExamples:
    """An earlier export's labeled texts."""

    path: Path
    texts: list[str]
    labels: list[str]


@dataclass
class ClusterLabel:
    """The label proposed for one cluster, with the share of its rows that vote for it."""

    cluster_id: int
    label: str
    confidence: float


def read_labels_file(path: str | Path) -> list[LabelSeed]:
    """The labels of ``path``: ``name`` or ``name: description`` a line; a bad line is an :class:`InputError`
    naming the file and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "no such file", hint="give a labels file: one label a line") from None
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text", hint="save the labels file as UTF-8") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    seeds: list[LabelSeed] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, description = line.partition(":")
        name, description = name.strip(), description.strip()
        if not name:
            raise InputError(path, "a label needs a name before ':'", line=number)
        if sep and not description:
            raise InputError(path, f"label {name!r} has ':' but no description after it", line=number)
        key = " ".join(name.split()).casefold()
        if key in seen:
            raise InputError(path, f"label {name!r} is given twice (first on line {seen[key]})", line=number)
        seen[key] = number
        seeds.append(LabelSeed(name, description or name))
    if len(seeds) < 2:
        raise InputError(path, f"{len(seeds)} label{'s' * (len(seeds) != 1)}: give at least two, one a line")
    return seeds


def read_labeled_export(path: str | Path) -> LabeledExamples:
    """The labeled texts of an earlier export (``text`` and ``cluster_label`` columns; noise, empty and rejected
    rows left out); at least two labels, else an :class:`InputError`."""
    import polars as pl

    from engine.export import EXPORT_FORMATS

    path = Path(path)
    fmt = EXPORT_FORMATS.get(path.suffix.lower())
    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "is not a regular file",
                         hint="give a file written by 'qtui export' or 'qtui cluster --export'")
    if fmt is None:
        raise InputError(path, f"unknown format {path.suffix!r}", hint=f"use {', '.join(sorted(EXPORT_FORMATS))}")
    try:
        if fmt in ("csv", "tsv"):
            frame = pl.read_csv(path, separator="\t" if fmt == "tsv" else ",", infer_schema=False)
        elif fmt == "jsonl":
            frame = pl.read_ndjson(path)
        else:
            frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises many kinds for a damaged file
        raise InputError(path, f"cannot be read as {fmt} ({str(exc).splitlines()[0][:120]})") from None
    missing = [c for c in ("text", "cluster_label") if c not in frame.columns]
    if missing:
        raise InputError(path, f"no {' or '.join(repr(c) for c in missing)} column",
                         hint="give a labeled export of qtui: it has 'text' and 'cluster_label'")
    keep = pl.col("text").is_not_null() & pl.col("cluster_label").is_not_null()
    if "status" in frame.columns:
        keep &= pl.col("status").fill_null("") != "rejected"
    frame = frame.filter(keep)
    texts = [str(t) for t in frame.get_column("text").to_list()]
    labels = [str(v).strip() for v in frame.get_column("cluster_label").to_list()]
    use = [i for i, (t, lab) in enumerate(zip(texts, labels)) if t.strip() and lab.casefold() not in NOT_LABELS]
    examples = LabeledExamples(path, [texts[i] for i in use], [labels[i] for i in use])
    if len(set(examples.labels)) < 2:
        raise InputError(path, f"{len(set(examples.labels))} label{'s' * (len(set(examples.labels)) != 1)} among "
                         f"its labeled rows: at least two are needed to learn from")
    return examples


@dataclass
class RowVotes:
    """The label each row votes for (``codes[i]`` indexes ``names``), kept so that clusters can be voted on
    again after every change of the review without embedding anything."""

    names: list[str]
    codes: np.ndarray

    @classmethod
    def of(cls, votes: list[str]) -> "RowVotes":
        names, codes = np.unique(np.asarray(votes, dtype=object).astype(str), return_inverse=True)
        return cls(names.tolist(), codes.ravel().astype(np.int64))

    def per_cluster(self, clusters: np.ndarray) -> list[ClusterLabel]:
        """Per cluster (``clusters[i]`` of the row that cast vote ``i``; < 0 ignored): the label most of its rows
        vote for and their share, by cluster id."""
        clusters = np.asarray(clusters, dtype=np.int64)
        keep = clusters >= 0
        if not keep.any():
            return []
        ids, dense = np.unique(clusters[keep], return_inverse=True)
        k = len(self.names)
        counts = np.bincount(dense.ravel() * k + self.codes[keep], minlength=len(ids) * k).reshape(len(ids), k)
        best = counts.argmax(axis=1)
        share = counts[np.arange(len(ids)), best] / counts.sum(axis=1)
        return [ClusterLabel(int(c), self.names[b], float(f)) for c, b, f in zip(ids.tolist(), best.tolist(),
                                                                                  share.tolist())]


def majority_labels(votes: list[str], clusters: np.ndarray) -> list[ClusterLabel]:
    """Per cluster (``clusters[i]`` of the row that cast ``votes[i]``; < 0 ignored): the label most of its rows
    vote for and their share, by cluster id."""
    return RowVotes.of(votes).per_cluster(clusters)


def vote_by_description(embedder, seeds: list[LabelSeed], vectors: np.ndarray,
                        progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> list[str]:
    """Per row of ``vectors`` (unit), the label whose description, embedded as a query, is nearest."""
    queries = np.empty((len(seeds), vectors.shape[1]), dtype=np.float32)
    for i, seed in enumerate(seeds):
        check(cancel)
        if progress:
            progress(Progress("labels", i, len(seeds), message="embedding the labels' descriptions"))
        queries[i] = embedder.encode_query(seed.description)
    nearest = (np.asarray(vectors, dtype=np.float32) @ queries.T).argmax(axis=1)
    return [seeds[i].name for i in nearest.tolist()]


def vote_by_examples(embedder, examples: LabeledExamples, vectors: np.ndarray, cache=None, seed: int = 0,
                     progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> list[str]:
    """Per row of ``vectors``, the label a classifier learned from ``examples`` (embedded with ``embedder``
    through ``cache``) gives it."""
    from engine.classify import propose_labels
    from engine.embedding import embed_texts
    from engine.session import unit_rows

    old, _ = embed_texts(examples.texts, embedder, cache, progress, cancel)
    check(cancel)
    if progress:
        progress(Progress("labels", 0, 1, message=f"learning {len(set(examples.labels))} labels"))
    names, codes = np.unique(np.asarray(examples.labels, dtype=object).astype(str), return_inverse=True)
    both = np.concatenate([unit_rows(old), np.asarray(vectors, dtype=np.float32)])
    labels = np.concatenate([codes.ravel(), np.full(len(vectors), -1)])
    found = propose_labels(both, labels, range(len(names)), seed, other=False, holdout=0.0)
    votes = np.empty(len(vectors), dtype=np.int64)
    votes[found.rows - len(old)] = found.cluster_ids
    return [str(names[c]) for c in votes.tolist()]


def row_votes(session, seeds: list[LabelSeed] | None = None, examples: LabeledExamples | None = None,
              progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> RowVotes:
    """The label each of ``session``'s rows votes for, from ``seeds`` (a labels file) or ``examples`` (an
    earlier export): what :func:`propose_cluster_labels` counts per cluster."""
    if (seeds is None) == (examples is None):
        raise ValueError("give seeds or examples (one of them)")
    if seeds is not None:
        votes = vote_by_description(session.embedder, seeds, session.vectors, progress, cancel)
    else:
        from engine.embedding import open_cache

        options = session.options
        cache = open_cache(session.embedder, options.cache_dir) if options.use_cache else None
        votes = vote_by_examples(session.embedder, examples, session.vectors, cache, progress=progress,
                                 cancel=cancel)
    return RowVotes.of(votes)


def propose_cluster_labels(session, labels: np.ndarray, seeds: list[LabelSeed] | None = None,
                           examples: LabeledExamples | None = None, progress: ProgressCallback | None = None,
                           cancel: CancelToken | None = None) -> list[ClusterLabel]:
    """A label per cluster of ``labels`` (one cluster id per corpus row) for ``session``'s rows, from ``seeds``
    (a labels file) or ``examples`` (an earlier export), by cluster id."""
    votes = row_votes(session, seeds, examples, progress, cancel)
    return votes.per_cluster(np.asarray(labels)[session.rows])
