"""The review's front door: open or resume the review of a session's file, change it, re-cluster it, export it.

The CLI and the app do every review step through a :class:`ReviewSession`::

    found = ReviewSession.find(session)                 # a saved review to offer, or None
    review = ReviewSession.resume(session, found) if found else ReviewSession.start(session, settings)
    review.rename(3, "refunds"); review.set_status([3], "accepted"); review.undo()
    plan = review.cluster_again(ClusterSettings("kmeans", k=20)); review.adopt(plan)   # undoable
    review.export("out.csv")

Every change is saved at once (:meth:`ReviewSession.autosave`); a failed save
keeps the change in memory, counts it in :attr:`ReviewSession.save_status` and
is retried with the next change.  Nothing a person made is dropped without
being listed: a review set aside stays listed (``qtui reviews``), a re-clustering
is undone like any action, and a file that changed keeps its review, carried
over row by row.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.analysis import EMPTY
from engine.clustering import NOISE, ClusterSettings
from engine.errors import show_path
from engine.progress import CancelToken, ProgressCallback, check
from engine.review import MOVED, UNREVIEWED, ReviewError, ReviewState
from engine.review_files import FoundReview, latest_review, list_reviews, review_by_id
from engine.review_record import Epoch, ReviewRecord, RowKeys, RowMatch, match_rows
from engine.review_info import ReviewContext
from engine.review_labels import LabelSteps
from engine.review_store import ReviewCorrupt, ReviewSaveError, ReviewStore
from engine.review_tree import TreeSteps
from engine.review_view import ReviewView, base_view, restore_analysis, review_view

if TYPE_CHECKING:
    from engine.analysis import Analysis
    from engine.carry_over import CarryOver
    from engine.options import ModelOptions
    from engine.session import Session


@dataclass
class SaveStatus:
    """Whether every change is on disk: ``unsaved`` changes since the last save that worked, and why."""

    unsaved: int = 0
    last_error: str | None = None

    def describe(self) -> str:
        """'' when all is saved, else e.g. '3 changes not saved'."""
        return "" if not self.unsaved else f"{self.unsaved} change{'s' * (self.unsaved != 1)} not saved"


@dataclass
class Outcome:
    """What a step did, in one line for the person, and where to look."""

    message: str
    recompute: bool = True  # sizes, scores or keywords changed (not only names or statuses)
    cluster: int | None = None  # the cluster the step made or changed, for the cursor


@dataclass
class Resumable:
    """A saved review that opening can offer: of this content, or of this path before the file changed."""

    found: FoundReview
    match: RowMatch | None = None  # how the rows map, when the file changed
    problem: str | None = None  # why it cannot be carried, when it cannot

    @property
    def same_content(self) -> bool:
        return self.found.same_content

    def has_decisions(self) -> bool:
        return self.found.info.has_decisions()

    def describe(self) -> str:
        """One paragraph for the "resume?" question."""
        text = f"A saved review of this file: {self.found.info.describe()}."
        if not self.same_content:
            text = (f"A saved review of an earlier version of this file: {self.found.info.describe()}. "
                    f"The file changed since: ")
            text += f"{self.match.describe()}." if self.match is not None else f"{self.problem}."
        return text


@dataclass
class ReclusterPlan:
    """A new clustering and what carrying the review over to it would do (nothing is changed yet)."""

    analysis: "Analysis"
    preview: "CarryOver | None"  # None when the review holds no decisions
    #: The session whose vectors the clustering is of, when they are not the review's (a refinement of a
    #: static first view, :meth:`ReviewSession.refine_plan`); adopting the plan moves the review onto it.
    session: "Session | None" = None

    def describe(self) -> list[str]:
        return self.preview.describe() if self.preview is not None else ["no decisions to carry over"]


class ReviewSession(TreeSteps, LabelSteps):
    """One review of a :class:`~engine.session.Session`'s file: its epochs, its store and its save state; the
    steps on the clustering's tree (zoom levels) are :class:`~engine.review_tree.TreeSteps`', the label steps
    (labels, suspects, proposals by label) :class:`~engine.review_labels.LabelSteps`'."""

    def __init__(self, session: "Session", store: ReviewStore, record: ReviewRecord, analysis: "Analysis",
                 context: ReviewContext, notices: list[str] | None = None) -> None:
        self.session = session
        self.store = store
        self.record = record
        self.context = context
        self.save_status = SaveStatus()
        self._note = ""  # what the step in progress set aside, for its message
        #: Lines to show once on opening (what was set aside, carried over, not carried).
        self.notices: list[str] = list(notices or [])
        self._analyses: dict[int, "Analysis"] = {record.current: analysis}
        self._levels: dict = {}  # zoom levels per epoch (engine.review_tree)
        self._view: tuple[int, int, ReviewView] | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening

    @staticmethod
    def find(session: "Session", review_id: str | None = None, write: bool = True) -> Resumable | None:
        """The saved review to offer for ``session``'s file: ``review_id``'s, else the current review of this
        content, else the newest of the same path before it changed; None when there is none.  With
        ``write`` False a damaged review is left where it is."""
        corpus = session.corpus
        if review_id is not None:
            found = review_by_id(corpus.path, review_id)
        else:
            found = latest_review(corpus.path, corpus.fingerprint, corpus.text_col)
        if found is None:
            return None
        found.store.read_only = not write
        if found.same_content or found.info.problem:
            return Resumable(found)
        try:
            saved = found.store.load(path=found.file)
        except (ReviewCorrupt, ReviewError) as exc:
            return Resumable(found, problem=str(exc))
        if saved.record.row_keys is None:
            return Resumable(found, problem="it was saved by an earlier qtui that did not record which rows it "
                                            "holds, so it cannot be carried over (open the file as it was then)")
        return Resumable(found, match_rows(saved.record.row_keys, RowKeys.of(corpus)))

    @staticmethod
    def saved_reviews(path: str | Path, fingerprint: str | None = None) -> list[FoundReview]:
        """Every saved review of the file at ``path`` (this content, earlier versions, set aside), newest first."""
        return list_reviews(path, fingerprint)

    @staticmethod
    def saved_review(path: str | Path, review_id: str | None = None, text_col: str | None = None) -> FoundReview | None:
        """The saved review ``review_id`` of ``path``, else its latest (of this content, else of an earlier
        version of the file); None when there is none.  Read before opening the file (its options)."""
        if review_id is not None:
            return review_by_id(path, review_id)
        from engine.review_info import file_fingerprint

        return latest_review(path, file_fingerprint(path), text_col)

    @staticmethod
    def check_export(path: str | Path, inputs: list[str | Path], overwrite: bool = False) -> Path:
        """Where an export may go (see :func:`engine.export_guard.check_export_target`); raises
        ``ExportRefused`` or ``ExportExists``."""
        from engine.export_guard import check_export_target

        return check_export_target(path, inputs, overwrite)

    @classmethod
    def start(cls, session: "Session", settings: ClusterSettings | None = None,
              model_options: "ModelOptions | None" = None, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None, analysis: "Analysis | None" = None) -> "ReviewSession":
        """A new review on a fresh clustering; a saved review of this content is set aside (still listed
        by ``qtui reviews``, openable with ``--review``), and the notice says so."""
        analysis = analysis or session.cluster(settings or ClusterSettings(), progress=progress, cancel=cancel)
        store = ReviewStore.for_corpus(session.corpus)
        writable = store.acquire()
        context = ReviewContext.of(session.corpus, analysis.clustering.settings, model_options,
                                   session.embedder.identity)
        state = ReviewState.from_analysis(analysis)
        record = ReviewRecord([Epoch(state, analysis.clustering.settings.to_dict(), "new review",
                                     analysis.clustering.tree)], row_keys=RowKeys.of(session.corpus))
        review = cls(session, store, record, analysis, context)
        if writable:
            previous = store.info()
            aside = None
            try:
                store.context = context
                aside = store.set_aside() if previous is not None else None
                store.save(record)
            except (ReviewSaveError, OSError) as exc:
                review._failed(exc)
            if aside is not None and previous.has_decisions():
                review.notices.append(f"The earlier review ({previous.describe()}) was set aside; "
                                      f"'qtui reviews {show_path(session.corpus.path)}' lists it")
        return review

    @classmethod
    def resume(cls, session: "Session", resumable: Resumable, model_options: "ModelOptions | None" = None,
               write: bool = True) -> "ReviewSession":
        """Open a saved review: as it was when the content is the same, else carried over to the rows now.
        With ``write`` False nothing is written (an export of a saved review)."""
        found = resumable.found
        if found.same_content:
            return cls._resume_same(session, found, write)
        if resumable.match is None:
            raise ReviewError(f"the saved review cannot be carried over: {resumable.problem}")
        return cls._carry_to_changed_file(session, found, resumable.match, model_options, write)

    @staticmethod
    def _store(session: "Session", write: bool) -> tuple[ReviewStore, bool]:
        store = ReviewStore.for_corpus(session.corpus)
        if not write:
            store.read_only = True
            return store, False
        return store, store.acquire()

    @classmethod
    def _resume_same(cls, session: "Session", found: FoundReview, write: bool) -> "ReviewSession":
        store, writable = cls._store(session, write)
        saved = store.load(session.corpus, path=found.file)
        record = saved.record
        notices = []
        if record.row_keys is None:
            record.row_keys = RowKeys.of(session.corpus)
        analysis = restore_analysis(session, record.state.base_labels, record.state.base_confidence,
                                    ClusterSettings(**record.epoch.settings), record.epoch.tree)
        review = cls(session, store, record, analysis, saved.context, notices)
        if writable:
            try:
                aside = store.set_aside() if found.info.set_aside else None  # the current one steps aside
                store.save(record)
                if found.info.set_aside:  # saved as the current review: its set-aside copy is no longer needed
                    found.file.unlink(missing_ok=True)
                if aside is not None:
                    review.notices.append("The review that was current was set aside; 'qtui reviews' lists it")
            except (ReviewSaveError, OSError) as exc:
                review._failed(exc)
        return review

    @classmethod
    def _carry_to_changed_file(cls, session: "Session", found: FoundReview, match: RowMatch,
                               model_options: "ModelOptions | None", write: bool) -> "ReviewSession":
        from engine.review_transfer import transfer

        old = found.store.load(path=found.file)
        result = transfer(old.record.state, match, session)
        settings = ClusterSettings(**old.record.epoch.settings)
        analysis = restore_analysis(session, result.state.base_labels, result.state.base_confidence, settings)
        store, writable = cls._store(session, write)
        context = ReviewContext.of(session.corpus, settings, model_options or old.context.model_options(),
                                   session.embedder.identity)
        origin = {"carried_from": found.review_id, "match": match.describe()}
        record = ReviewRecord([Epoch(result.state, settings.to_dict(), f"carried over from {found.review_id}",
                                     analysis.clustering.tree)],
                              row_keys=RowKeys.of(session.corpus), origin=origin)
        review = cls(session, store, record, analysis, context, [f"Carried the review over: {match.describe()}",
                                                                 *result.describe()])
        if writable:
            try:
                store.start(record, context, keep_previous=True)
            except (ReviewSaveError, OSError) as exc:
                review._failed(exc)
        return review

    # ------------------------------------------------------------------ reading

    @property
    def state(self) -> ReviewState:
        """The review in effect."""
        return self.record.state

    @property
    def analysis(self) -> "Analysis":
        """The base clustering of the epoch in effect."""
        i = self.record.current
        if i not in self._analyses:
            state = self.state
            self._analyses[i] = restore_analysis(self.session, state.base_labels, state.base_confidence,
                                                 self.settings, self.record.epoch.tree)
        return self._analyses[i]

    @property
    def settings(self) -> ClusterSettings:
        return ClusterSettings(**self.record.epoch.settings)

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    @property
    def read_only_reason(self) -> str | None:
        return self.store.read_only_reason

    def view(self) -> ReviewView:
        """Sizes, centres, scores and keywords of the clusters as reviewed now (computed once per change)."""
        with self._lock:
            state, key = self.state, (self.record.current, self.state.version)
            if self._view is not None and self._view[:2] == key:
                return self._view[2]
            analysis = self.analysis
            if np.array_equal(state.labels, analysis.labels):  # nothing relabeled yet: no term counts needed
                view = base_view(analysis)
            else:
                terms, vocabulary = self.session.document_terms()
                view = review_view(state, self.session.rows, self.session.vectors, terms, vocabulary)
            self._view = (*key, view)
            return view

    def can_undo(self) -> bool:
        return self.state.can_undo or self.record.current > 0

    def can_redo(self) -> bool:
        return self.state.can_redo or self.record.current < len(self.record.epochs) - 1

    # ------------------------------------------------------------------ saving

    def autosave(self) -> bool:
        """Save the review now (True if it worked); a failure keeps the count of unsaved changes and the error."""
        return self._save(changed=False)

    def _save(self, changed: bool) -> bool:
        """Save after a change (``changed``: count it if the save fails) or as a retry."""
        if self.store.read_only:
            return False
        try:
            self.store.save(self.record)
        except ReviewSaveError as exc:
            self._failed(exc, changed)
            return False
        self.save_status = SaveStatus()
        return True

    def _failed(self, exc: Exception, changed: bool = True) -> None:
        self.save_status = SaveStatus(self.save_status.unsaved + int(changed), str(exc))

    def set_ui(self, **values) -> None:
        """Remember the selection (cluster, row, tab, sort) with the review, so a reopen returns to it."""
        self.state.set_ui(**values)
        if not self.store.read_only and not self.save_status.unsaved:
            try:
                self.store.save(self.record)
            except ReviewSaveError:
                pass  # the selection is not a change of the review: the next change retries the save

    def close(self) -> None:
        """Give the review's lock back (saves are the caller's: see :meth:`autosave`)."""
        self.store.release()

    # ------------------------------------------------------------------ changes

    def _need_writable(self) -> None:
        if self.store.read_only:
            raise ReviewError(self.store.read_only_reason or "this review is open read-only")

    def _act(self, step) -> object:
        self._need_writable()
        with self._lock:
            self._set_aside_undone_reclusterings()
            result = step(self.state)
            del self.record.epochs[self.record.current + 1:]  # a new step drops the re-clusterings undone
            self._save(changed=True)
            return result

    def _set_aside_undone_reclusterings(self) -> None:
        """A new step ends the redo of re-clusterings undone before it; any that hold a person's work are
        first kept as a set-aside review (or the step is refused when that cannot be written)."""
        self._note = ""
        later = self.record.epochs[self.record.current + 1:]
        if not any(e.state.done or e.state.undone or e.state.names or e.state.statuses for e in later):
            return
        try:
            self.store.save_aside(self.record)
        except ReviewSaveError as exc:
            raise ReviewError(f"this step would end the redo of the re-clustering you undid, and it could not be "
                              f"set aside ({exc}); redo it (ctrl+y), or free some space first") from None
        self._note = ("; the re-clustering you undid, with its decisions, was set aside (Earlier reviews in the "
                      "command palette reopens it)")

    def _outcome(self, message: str, recompute: bool = True, cluster: int | None = None) -> Outcome:
        """What a step did, with what it set aside on the way."""
        note, self._note = self._note, ""
        return Outcome(message + note, recompute, cluster)

    def rename(self, cluster_id: int, name: str | None) -> Outcome:
        """Name a cluster; an empty name clears it (the keyword suggestion shows again).  A name in use by other
        clusters (case and spaces aside) joins that label, spelled as it is."""
        from engine.label_names import spelling_in_use

        others = [lab for lab in self.labels() if lab.cluster_ids != [cluster_id]]
        name = spelling_in_use((name or "").strip(), others) if (name or "").strip() else ""
        joined = next((lab for lab in others if lab.name == name and cluster_id not in lab.cluster_ids), None)
        self._act(lambda s: s.rename(cluster_id, name or None))
        message = f"Cluster {cluster_id} named “{name}”" if name else \
            f"Cleared the name of cluster {cluster_id}: it shows its keyword suggestion again"
        if joined is not None:
            message += f": it joins that label ({len(joined.cluster_ids) + 1} clusters)"
        return self._outcome(message, recompute=False, cluster=cluster_id)

    def set_status(self, cluster_ids: list[int], status: str) -> Outcome:
        """Mark clusters accepted, rejected or unreviewed (their rows with them)."""
        ids = list(cluster_ids)
        self._act(lambda s: s.set_status(ids, status))
        what = f"cluster {ids[0]}" if len(ids) == 1 else f"{len(ids)} clusters"
        return self._outcome(f"Marked {what} {status}", recompute=False, cluster=ids[0] if ids else None)

    def merge(self, cluster_ids: list[int], into: int | None = None) -> Outcome:
        """Merge clusters; the outcome says what became of their names and decisions."""
        state = self.state
        ids = list(dict.fromkeys(int(c) for c in cluster_ids))
        names = {c: state.name(c) for c in ids}
        statuses = {c: state.status(c) for c in ids}
        target = self._act(lambda s: s.merge(ids, into=into))
        kept_name, status = state.name(target), state.status(target)
        parts = [f"Merged {len(ids)} clusters into #{target}"]
        if len(set(statuses.values())) == 1:
            parts.append(f"all were {status}, so it stays {status}")
        else:
            mix = ", ".join(sorted(set(statuses.values())))
            parts.append(f"their decisions differed ({mix}), so it is unreviewed")
        dropped = [n for c, n in names.items() if n and n != kept_name]
        if kept_name:
            parts.append(f"named “{kept_name}”" + (f" (dropped: {', '.join(map(repr, dropped))})" if dropped else ""))
        return self._outcome("; ".join(parts), cluster=target)

    def split(self, cluster_id: int, k: int | None = None, cancel: CancelToken | None = None) -> Outcome:
        """Split a cluster by clustering only its members (``k`` parts, or auto); parts are numbered after its
        name and unreviewed.  Refuses a ``k`` the cluster cannot fill."""
        from engine.split import split_parts

        state, session = self.state, self.session
        rows = state.members(cluster_id)
        positions = np.array([session.position(r) for r in rows.tolist()], dtype=np.int64)
        keep = positions >= 0
        rows, positions = rows[keep], positions[keep]
        if len(rows) < 3:
            raise ReviewError(f"cluster {cluster_id} has {len(rows)} text{'s' * (len(rows) != 1)}: too few to split")
        if k is not None and k >= len(rows):
            raise ReviewError(f"cluster {cluster_id} has {len(rows)} texts: split it into at most "
                              f"{len(rows) - 1} parts")
        parts, confidence = split_parts(session.vectors[positions], k, seed=self.settings.seed)
        check(cancel)
        if len(set(parts[parts >= 0].tolist())) < 2:
            raise ReviewError(f"cluster {cluster_id} does not split: its texts form one group")
        name, status = state.name(cluster_id), state.status(cluster_id)
        created = self._act(lambda s: s.split(cluster_id, parts, rows=rows, confidence=confidence))
        message = f"Split cluster {cluster_id} into {len(created)}"
        if name:
            message += f": the parts are named “{name} (1/{len(created)})” …"
        message += " and unreviewed" if status == UNREVIEWED else f" and unreviewed (it was {status})"
        return self._outcome(message, cluster=created[0])

    def move(self, rows, target: int) -> Outcome:
        """Move rows to another cluster (or to noise with ``NOISE``)."""
        n = len(rows)
        self._act(lambda s: s.move(rows, target))
        where = "noise" if target == NOISE else f"#{target}"
        return self._outcome(f"Moved {n} text{'s' * (n != 1)} to {where}", cluster=target if target >= 0 else None)

    def to_noise(self, rows) -> Outcome:
        """Send rows to the unclustered group."""
        n = len(rows)
        self._act(lambda s: s.to_noise(rows))
        return self._outcome(f"Sent {n} text{'s' * (n != 1)} to noise")

    def new_cluster(self, rows, name: str | None = None) -> Outcome:
        """Make a new cluster of rows."""
        n = len(rows)
        created = self._act(lambda s: s.new_cluster(rows, name))
        return self._outcome(f"Made cluster #{created} of {n} text{'s' * (n != 1)}", cluster=created)

    def apply_proposals(self, rows, cluster_ids, confidences) -> Outcome:
        """Accept classifier proposals (row decisions: they survive re-clustering)."""
        n = len(rows)
        self._act(lambda s: s.apply_proposals(rows, cluster_ids, confidences))
        return self._outcome(f"Accepted {n:,} proposal{'s' * (n != 1)}")

    def collapse_duplicates(self, groups: list[np.ndarray]) -> Outcome:
        """Put each group of near-duplicate rows in one cluster: the one most of its rows are in."""
        labels = self.state.labels
        rows, targets = [], []
        for group in groups:
            group = np.asarray(group, dtype=np.int64)
            current = labels[group]
            real = current[current >= 0]
            target = int(np.bincount(real).argmax()) if len(real) else NOISE
            move = group[(current != target) & (current != EMPTY)]
            rows.append(move)
            targets.append(np.full(len(move), target, dtype=np.int64))
        rows_all = np.concatenate(rows) if rows else np.empty(0, np.int64)
        if not len(rows_all):
            return self._outcome("Those groups are each in one cluster already; nothing changed", recompute=False)
        targets_all = np.concatenate(targets)
        note = f"collapse {len(groups)} near-duplicate group{'s' * (len(groups) != 1)}"
        self._act(lambda s: s.assign(rows_all, targets_all, np.full(len(rows_all), MOVED, np.int8),
                                     np.ones(len(rows_all), np.float32), note=note))
        n, k = len(groups), len(rows_all)
        return self._outcome(f"Collapsed {n} group{'s' * (n != 1)} ({k} text{'s' * (k != 1)} moved)")

    def recluster_rows(self, rows: np.ndarray, settings: ClusterSettings, cancel: CancelToken | None = None) -> Outcome:
        """Cluster only ``rows`` (a filter's bool mask, or corpus rows) again: their sub-clusters become new
        clusters (unnamed, unreviewed) in one step that undo takes back whole; the other clusters keep theirs."""
        from engine.regroup import regroup_rows

        plan = regroup_rows(self.state, self.session, rows, settings)
        check(cancel)
        created = self._act(lambda s: s.regroup(plan.rows, plan.parts, plan.confidence,
                                                 note=f"re-cluster {len(plan.rows):,} rows into {plan.n_parts}"))
        return self._outcome(f"Re-clustered {len(plan.rows):,} texts into {len(created)} new clusters "
                             f"({settings.describe()}); ctrl+z undoes it", cluster=created[0] if created else None)

    def undo(self) -> Outcome | None:
        """Undo the last step, a re-clustering included (back to the clustering before, with its history)."""
        self._need_writable()
        with self._lock:
            if self.state.can_undo:
                action = self.state.undo()
                outcome = Outcome(f"Undid: {action.describe()}", cluster=_cluster_of(action, old=True))
            elif self.record.current > 0:
                note = self.record.epoch.note
                self.record.current -= 1
                outcome = Outcome(f"Undid: {note or 're-clustering'}; back to {self.settings.describe()} "
                                  f"with its names and decisions")
            else:
                return None
            self._save(changed=True)
            return outcome

    def redo(self) -> Outcome | None:
        """Redo the last undone step (a re-clustering included)."""
        self._need_writable()
        with self._lock:
            if self.state.can_redo:
                action = self.state.redo()
                outcome = Outcome(f"Redid: {action.describe()}", cluster=_cluster_of(action, old=False))
            elif self.record.current < len(self.record.epochs) - 1:
                self.record.current += 1
                outcome = Outcome(f"Redid: {self.record.epoch.note or 're-clustering'}")
            else:
                return None
            self._save(changed=True)
            return outcome

    # ------------------------------------------------------------------ re-clustering

    def cluster_again(self, settings: ClusterSettings, progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> ReclusterPlan:
        """Cluster the file again and work out the carry-over; nothing changes until :meth:`adopt`."""
        return self._plan(self.session.cluster(settings, progress=progress, cancel=cancel))

    def _plan(self, analysis: "Analysis") -> ReclusterPlan:
        """The plan of adopting ``analysis``: its carry-over preview when the review holds decisions."""
        from engine.carry_over import carry_over

        state = self.state
        preview = None
        if self.record.has_decisions() and (state.names or state.statuses or state.done or
                                            (state.source != 0).any()):
            preview = carry_over(state, analysis.labels, analysis.confidence, pin=True)
        return ReclusterPlan(analysis, preview)

    @property
    def switch_without_asking(self) -> bool:
        """Whether a refined clustering may replace the one shown without asking: nothing is reviewed yet
        (no name, decision, move or re-clustering in effect)."""
        return not self.record.has_decisions()

    def refine_plan(self, full: "Session | None" = None, progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None) -> ReclusterPlan:
        """The review's clustering made again on the full model's vectors, and the carry-over to it; nothing
        changes until :meth:`adopt`.

        ``full``: the session's :meth:`~engine.session.Session.refined` session when the caller embedded
        already, else it is made here (vectors cached as they come: a cancelled refinement resumes).  The
        settings are the review's, clustered in full (not quick).  Raises :class:`ReviewError` when the review
        already shows full vectors.
        """
        if not self.session.static:
            raise ReviewError("this review already shows the full model's vectors")
        full = full if full is not None else self.session.refined(progress, cancel)
        check(cancel)
        from dataclasses import replace

        plan = self._plan(full.cluster(replace(self.settings, quick=None), progress=progress, cancel=cancel))
        plan.session = full
        return plan

    def adopt(self, plan: ReclusterPlan, pin: bool = True) -> Outcome:
        """Make ``plan``'s clustering the one in effect, carrying the review over (reviewed clusters that
        cannot be carried are kept as they were with ``pin``); one step that :meth:`undo` takes back."""
        from engine.carry_over import carry_over

        self._need_writable()
        analysis = plan.analysis
        with self._lock:
            self._set_aside_undone_reclusterings()
            old = self.state
            if plan.preview is None:
                state, lines = ReviewState.from_analysis(analysis, ui=dict(old.ui)), []
            else:
                result = plan.preview if plan.preview.pinned == pin else \
                    carry_over(old, analysis.labels, analysis.confidence, pin=pin)
                state, lines = result.state, result.describe()
            settings = analysis.clustering.settings
            note = f"re-clustered with {settings.describe()}"
            if plan.session is not None and plan.session is not self.session:
                self._move_to(plan.session)
                note = f"refined: {settings.describe()} on the full model's vectors"
            epoch = Epoch(state, settings.to_dict(), note, analysis.clustering.tree)
            epoch.state, tree_lines = self._carry_tree(old, state, analysis, epoch)
            lines += tree_lines
            old.undone.clear()  # the re-clustering is the newest step: what was undone before it is gone
            del self.record.epochs[self.record.current + 1:]
            self.record.epochs.append(epoch)
            self.record.current += 1
            self._analyses[self.record.current] = analysis
            self._levels.pop(self.record.current, None)
            self._save(changed=True)
        first = lines[0] if lines else "a fresh review"
        n = analysis.n_clusters
        what = "full vectors, " if plan.session is not None else ""
        return self._outcome(f"{n} cluster{'s' * (n != 1)} ({what}{settings.describe()}): {first}; "
                             f"ctrl+z undoes it")

    def _move_to(self, session: "Session") -> None:
        """Make ``session`` (the same rows, other vectors) the review's: views, splits and saves use it now.
        Epochs already made keep their clusterings (an undo shows them again)."""
        old = self.session
        self.session = session
        if old.refinement is None:
            old.refinement = session
        self.context = ReviewContext.of(session.corpus, self.settings, session.options.model,
                                        session.embedder.identity)
        self.store.context = self.context
        self._view = None

    # ------------------------------------------------------------------ export

    def export(self, path: str | Path, overwrite: bool = False, rows: np.ndarray | None = None) -> Path:
        """Write the reviewed result to ``path`` (never over the input or a reviewed file; over another
        existing file only with ``overwrite``); only the ``rows`` of a bool mask, when given."""
        from engine.export import export_review

        target = self.check_export(path, [self.session.corpus.path], overwrite)
        return export_review(self.session.corpus, self.state, self.view(), target, self.tree_columns(), rows=rows)


def _cluster_of(action, old: bool) -> int | None:
    """The cluster an action is about, for putting the cursor there after undo/redo."""
    a = action.args
    for key in ("cluster", "into", "target"):
        if isinstance(a.get(key), int):
            return a[key]
    if a.get("clusters"):
        return a["clusters"][0]
    if action.rows is not None and len(action.rows):
        labels = (action.old if old else action.new)[0]
        real = labels[labels >= 0]
        return int(real[0]) if len(real) else None
    return None

