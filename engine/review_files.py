"""Finding saved reviews: of a file's content, of its path when the content changed, or by review id.

Every review lives in its folder under :func:`engine.review_info.reviews_root`
(one folder per content and text column); a folder's ``state.json`` is its
current review and ``state.superseded-*.json`` are reviews set aside.  Each
carries the absolute path of the file it was made of, so a review follows its
file when the file is edited or grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import UsageError, show_path
from engine.review_info import SET_ASIDE_GLOB, STATE_NAME, ReviewInfo, file_fingerprint, review_key, reviews_root
from engine.review_store import ReviewStore


@dataclass
class FoundReview:
    """A saved review and how it relates to the file now: ``same`` content, or the file ``changed``."""

    store: ReviewStore
    info: ReviewInfo
    same_content: bool

    @property
    def review_id(self) -> str:
        return self.info.review_id

    @property
    def file(self) -> Path:
        """The state file (``state.json`` or a set-aside one)."""
        return self.info.path


def list_reviews(path: str | Path, fingerprint: str | None = None, text_col: str | None = None,
                 root: Path | None = None) -> list[FoundReview]:
    """Every saved review of the file at ``path``: of its content now, and of the same path with other
    content (earlier versions of the file), set-aside ones included; newest first."""
    path = Path(path)
    fingerprint = fingerprint or (file_fingerprint(path) if path.is_file() else None)
    resolved = str(path.resolve())
    base = reviews_root(root)
    found: list[FoundReview] = []
    if not base.is_dir():
        return found
    for folder in sorted(base.iterdir()):
        if not folder.is_dir():
            continue
        same = fingerprint is not None and folder.name.startswith(f"{fingerprint}-")
        if same and text_col is not None and folder.name != review_key(fingerprint, text_col):
            continue
        store = ReviewStore(folder)
        for file in [folder / STATE_NAME, *sorted(folder.glob(SET_ASIDE_GLOB))]:
            info = ReviewStore._info_of(file)
            if info is None or info.context is None:
                if info is not None and same:
                    found.append(FoundReview(store, info, True))  # damaged: listed so it is not missed
                continue
            saved = info.context.input
            if not same and (saved.get("path") != resolved or (text_col and saved.get("text_col") != text_col)):
                continue
            found.append(FoundReview(store, info, same))
    return sorted(found, key=lambda f: f.info.saved_at or 0.0, reverse=True)


def latest_review(path: str | Path, fingerprint: str, text_col: str | None = None,
                  root: Path | None = None) -> FoundReview | None:
    """The review to offer on opening: the current review of this content, else the newest current review
    of the same path (the file changed since); None when there is none."""
    current = [f for f in list_reviews(path, fingerprint, text_col, root) if not f.info.set_aside]
    same = [f for f in current if f.same_content]
    if same:
        return same[0]
    changed = [f for f in current if f.info.problem is None and f.info.has_decisions()]
    return changed[0] if changed else None


def review_by_id(path: str | Path, review_id: str, root: Path | None = None) -> FoundReview:
    """The review of ``path`` that ``qtui reviews`` lists as ``review_id``; a one-line error if none."""
    reviews = list_reviews(path, root=root)
    for found in reviews:
        if found.review_id == review_id:
            return found
    known = ", ".join(f.review_id for f in reviews[:6]) or "none"
    raise UsageError(f"{show_path(path)}: no saved review with id {review_id!r} (its reviews: {known}; "
                     f"'qtui reviews {show_path(path)}' lists them)")


def review_files(root: Path | None = None) -> list[Path]:
    """The input files every saved review was made of (what an export must never overwrite)."""
    base = reviews_root(root)
    paths: set[Path] = set()
    if not base.is_dir():
        return []
    for folder in base.iterdir():
        info = ReviewStore._info_of(folder / STATE_NAME)
        if info is not None and info.context is not None and info.context.input.get("path"):
            paths.add(Path(info.context.input["path"]))
    return sorted(paths)
