"""Write an analysis — or a review of one — as a table: CSV (default), TSV, JSON Lines or Parquet, by extension.

Columns: ``id, text, cluster_id, cluster_label, score, keywords`` (with
``parent_id, parent_label`` after ``cluster_label`` when the clusters one tree
level coarser are given, and ``proposed_label, proposed_confidence`` after
them when labels are proposed per cluster), then every
original column (renamed ``input_<name>`` if it clashes); a review export
(:func:`export_review`) has ``id, text, cluster_id, cluster_label, status,
score, label_source, confidence`` instead (with ``parent_label, label_path``
after them when the review's clustering has a tree).  Ids and texts are
written exactly as loaded.  The file is written to a temporary name and
renamed, so a failed export never leaves half a file under the target name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from engine.analysis import Analysis, EMPTY
from engine.atomic import atomic_target
from engine.errors import QtuiError, UsageError, show_path

EXPORT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
KEYWORDS_IN_EXPORT = 10


def export_frame(analysis: Analysis, names: dict[int, str] | None = None, parents=None,
                 proposed: dict | None = None) -> pl.DataFrame:
    """The export table of ``analysis``; ``names`` overrides cluster labels by id; ``proposed`` (cluster id to
    :class:`engine.label_seeds.ClusterLabel`) adds each row's cluster's ``proposed_label`` and its
    ``proposed_confidence`` (empty for noise, empty texts and clusters without one).

    ``parents`` (:func:`engine.analysis.parent_level`: the parent id of every cluster id and the parents'
    :class:`~engine.analysis.ClusterInfo`) adds ``parent_id`` and ``parent_label``; noise and empty
    rows keep their own group there, as they do at every level.
    """
    corpus = analysis.corpus
    by_id = {c.id: c for c in analysis.clusters}
    names = names or {}
    label_of = {cid: names.get(cid, info.name) for cid, info in by_id.items()}
    keywords_of = {cid: ", ".join(t for t, _ in info.keywords[:KEYWORDS_IN_EXPORT]) for cid, info in by_id.items()}
    labels = analysis.labels.tolist()
    scores = np.round(analysis.scores.astype(np.float64), 4)
    columns = [
        pl.Series("id", corpus.ids, dtype=pl.String),
        pl.Series("text", corpus.texts, dtype=pl.String),
        pl.Series("cluster_id", [None if c == EMPTY else c for c in labels], dtype=pl.Int64),
        pl.Series("cluster_label", [label_of.get(c, "") for c in labels], dtype=pl.String),
        pl.Series("score", [None if np.isnan(s) else float(s) for s in scores], dtype=pl.Float64),
        pl.Series("keywords", [keywords_of.get(c, "") for c in labels], dtype=pl.String),
    ]
    if parents is not None:
        parent_of, infos = parents
        up = {cid: (int(parent_of[cid]) if cid >= 0 else cid) for cid in by_id}
        up_label = {cid: (infos[p].name if cid >= 0 else label_of[cid]) for cid, p in up.items()}
        columns[4:4] = [pl.Series("parent_id", [None if c == EMPTY else up[c] for c in labels], dtype=pl.Int64),
                        pl.Series("parent_label", [up_label.get(c, "") for c in labels], dtype=pl.String)]
    if proposed is not None:
        at = next(i for i, col in enumerate(columns) if col.name == "score")
        seeds = [proposed.get(c) for c in labels]
        columns[at:at] = [pl.Series("proposed_label", [s.label if s else None for s in seeds], dtype=pl.String),
                          pl.Series("proposed_confidence", [round(s.confidence, 4) if s else None for s in seeds],
                                    dtype=pl.Float64)]
    return pl.DataFrame(columns).hstack(original_columns(analysis, {c.name for c in columns}))


def original_columns(analysis: Analysis, taken: set[str]) -> pl.DataFrame:
    """The input's other columns, renamed ``input_<name>`` where they clash with ``taken``."""
    return corpus_columns(analysis.corpus, taken)


def corpus_columns(corpus, taken: set[str]) -> pl.DataFrame:
    """``corpus``'s other columns, renamed ``input_<name>`` where they clash with ``taken``."""
    extra = corpus.frame.select(corpus.extra_columns)
    return extra.rename({c: f"input_{c}" for c in extra.columns if c in taken})


REVIEW_COLUMNS = ("id", "text", "cluster_id", "cluster_label", "status", "score", "label_source", "confidence")


def review_frame(corpus, state, view, tree: dict | None = None) -> pl.DataFrame:
    """The reviewed result, one row per corpus row: :data:`REVIEW_COLUMNS`, then the original columns.

    ``state`` is an :class:`engine.review.ReviewState`, ``view`` its
    :func:`engine.review_view.review_view`.  ``cluster_id`` is -1 for noise and
    empty for empty texts; ``cluster_label`` the person's name, else the
    suggested one; ``status`` the decision covering the row: its cluster's, but
    ``unreviewed`` for a row that joined a reviewed cluster without a decision
    (carried over, or new in a changed file); empty for noise and empty texts;
    ``score`` the cosine to the current cluster's centre; ``label_source``
    cluster / moved / classifier / manual; ``confidence`` the clustering's,
    the classifier's, or 1 for the person's own decisions.  ``tree``
    (:meth:`engine.review_tree.TreeSteps.tree_columns`) gives the labels and decisions with those made at
    other zoom levels inherited, and adds ``parent_label`` (the row's group one level coarser) and
    ``label_path`` (every name a person gave that covers the row, broadest first, joined by " / ").
    """
    from engine.review import SOURCES

    if len(state) != len(corpus):
        raise QtuiError(f"the review has {len(state)} row{'s' * (len(state) != 1)} but the file has {len(corpus)}; "
                        f"it is of another file")
    labels = state.labels.tolist()
    label_of = {c: view.label(state, c) for c in set(labels)}
    status_of = {c: (state.status(c) if c >= 0 else None) for c in label_of}
    row_label = [label_of[c] for c in labels] if tree is None else tree["cluster_label"]
    row_status = [status_of[c] for c in labels] if tree is None else tree["status"]
    empty = state.base_labels == EMPTY
    scores = np.round(view.scores.astype(np.float64), 4)
    confidence = np.round(state.confidence.astype(np.float64), 4)
    source = np.asarray(SOURCES, dtype=object)[state.source]
    columns = [
        pl.Series("id", corpus.ids, dtype=pl.String),
        pl.Series("text", corpus.texts, dtype=pl.String),
        pl.Series("cluster_id", [None if c == EMPTY else c for c in labels], dtype=pl.Int64),
        pl.Series("cluster_label", row_label, dtype=pl.String),
        pl.Series("status", [("unreviewed" if s and not ok else s) for s, ok in
                             zip(row_status, (state.seen | (state.source != 0)).tolist())], dtype=pl.String),
        pl.Series("score", [None if np.isnan(s) else float(s) for s in scores], dtype=pl.Float64),
        pl.Series("label_source", [None if e else s for s, e in zip(source.tolist(), empty.tolist())],
                  dtype=pl.String),
        pl.Series("confidence", [None if e else c for c, e in zip(confidence.tolist(), empty.tolist())],
                  dtype=pl.Float64),
    ]
    if tree is not None:
        columns += [pl.Series("parent_label", tree["parent_label"], dtype=pl.String),
                    pl.Series("label_path", tree["label_path"], dtype=pl.String)]
    return pl.DataFrame(columns).hstack(corpus_columns(corpus, {c.name for c in columns}))


def export_review(corpus, state, view, path: str | Path, tree: dict | None = None,
                  rows: np.ndarray | None = None) -> Path:
    """Write the reviewed result of ``state`` (see :func:`review_frame`) to ``path``, atomically (only the
    ``rows`` of a bool mask, if given)."""
    frame = review_frame(corpus, state, view, tree)
    if rows is not None:
        frame = frame.filter(pl.Series(np.asarray(rows, dtype=bool)))
    return write_table(frame, path)


def write_table(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` atomically in the format its extension names."""
    path = Path(path)
    fmt = EXPORT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"{show_path(path)}: unknown export format {path.suffix!r} "
                         f"(use {', '.join(sorted(EXPORT_FORMATS))})")
    if fmt in ("csv", "tsv"):
        frame = _flatten_nested(frame)
    if path.is_dir():
        raise QtuiError(f"{show_path(path)}: is a directory; give a file name for the export")
    if not path.parent.is_dir():
        raise QtuiError(f"{show_path(path)}: the folder {show_path(path.parent)} does not exist; create it or "
                        f"export somewhere else")
    try:
        with atomic_target(path) as tmp:
            if fmt == "csv":
                frame.write_csv(tmp)
            elif fmt == "tsv":
                frame.write_csv(tmp, separator="\t")
            elif fmt == "jsonl":
                frame.write_ndjson(tmp)
            else:
                frame.write_parquet(tmp)
    except OSError as exc:
        raise QtuiError(f"{show_path(path)}: cannot write the export ({exc.strerror or exc}); "
                        f"nothing was written there") from None
    return path


def _flatten_nested(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV cannot hold lists or structs: write them as JSON text."""
    nested = [c for c, t in frame.schema.items() if t.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(
        pl.Series(c, [None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                      for v in frame.get_column(c).to_list()], dtype=pl.String)
        for c in nested
    )


def export_analysis(analysis: Analysis, path: str | Path, names: dict[int, str] | None = None,
                    rows: np.ndarray | None = None, parents=None, proposed: dict | None = None) -> Path:
    """Build the export table of ``analysis`` (see :func:`export_frame`) and write it to ``path`` (only the
    ``rows`` of a bool mask, if given)."""
    frame = export_frame(analysis, names, parents, proposed)
    if rows is not None:
        frame = frame.filter(pl.Series(np.asarray(rows, dtype=bool)))
    return write_table(frame, path)
