"""Labels you already have (``qtui open --labels`` / ``--labels-from``): a proposed label per cluster.

:class:`LabelSeeding` is a widget without a face on the board: once a review is open its worker reads the
labels file or the earlier export and works out the label each row votes for (embedding the descriptions or
learning the export: :func:`engine.label_seeds.row_votes`); each cluster's proposal is then the label most
of its rows vote for, counted again for the clusters as they are after every step, so it follows merges,
splits, moves and re-clusterings.  Accepting a proposal is a rename.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.widget import Widget
from textual.worker import get_current_worker

from engine.errors import QtuiError, show_path
from engine.progress import Cancelled, CancelToken
from tui.messages import Busy, ProgressReport

if TYPE_CHECKING:
    from engine.label_seeds import ClusterLabel, RowVotes
    from engine.review_session import ReviewSession


class LabelSeeding(Widget):
    """Proposes a label per cluster from the labels the person started with."""

    DEFAULT_CSS = "LabelSeeding { display: none; }"

    class Ready(Message):
        """The rows' votes are in: the clusters can show their proposals."""

        def __init__(self, session, votes: "RowVotes") -> None:
            super().__init__()
            self.session, self.votes = session, votes

    def __init__(self) -> None:
        super().__init__()
        self.source = ""  # the file the labels come from, as shown
        self.votes: RowVotes | None = None
        self._session = None  # the session (vectors) the votes were cast for
        self._token = CancelToken()
        self._cached: tuple[tuple, dict[int, ClusterLabel]] | None = None

    @property
    def active(self) -> bool:
        """Whether labels were given at all (the dialog and markers only then)."""
        return bool(self.source)

    def follow(self, review: "ReviewSession", options) -> None:
        """A review is on the board (or moved to new vectors): vote again when labels were given."""
        path = None if options is None else (options.labels or options.labels_from)
        if path is None or review.session is self._session:
            return
        self.source = show_path(path)
        self._session, self.votes, self._cached = review.session, None, None
        self._token.cancel()
        self._token = CancelToken()
        self.vote(review.session, options, self._token)

    def stop(self) -> None:
        self._token.cancel()

    @work(thread=True, exclusive=True, group="seeding", exit_on_error=False)
    def vote(self, session, options, token: CancelToken) -> None:
        from engine.label_seeds import row_votes
        from tui.cli import read_label_sources

        worker = get_current_worker()
        self.post_message(Busy(f"proposing labels from {self.source}…"))
        try:
            seeds, examples = read_label_sources(options)
            votes = row_votes(session, seeds, examples, progress=lambda p: None if worker.is_cancelled else
                              self.post_message(ProgressReport(p)), cancel=token)
        except Cancelled:
            return
        except QtuiError as exc:
            self.notify(f"No labels proposed from {self.source}: {exc}", severity="error", timeout=10)
            return
        finally:
            self.post_message(Busy())
        if not worker.is_cancelled:
            self.post_message(self.Ready(session, votes))

    @on(Ready)
    def _ready(self, event: Ready) -> None:
        if event.session is not self._session:
            return
        self.votes, self._cached = event.votes, None
        self.notify(f"Labels from {self.source} are proposed for the clusters (≈ in the clusters pane); P lists "
                    f"them, n on a cluster offers its proposal.", timeout=8)

    def proposals(self, review: "ReviewSession") -> "dict[int, ClusterLabel]":
        """The label proposed for each current cluster (by id), counted for the review as it is now."""
        if self.votes is None or review is None or review.session is not self._session:
            return {}
        state = review.state
        key = (state.version, id(state))
        if self._cached is None or self._cached[0] != key:
            clusters = state.labels[review.session.rows]
            self._cached = (key, {p.cluster_id: p for p in self.votes.per_cluster(clusters)})
        return self._cached[1]
