"""What a saved review is, read without replaying it: where reviews live, what one is of, its summary line.

:func:`data_root` is ``$QTUI_DATA_DIR`` or the user data directory; each review
folder under ``reviews/`` is named by :func:`review_key` (the input's content and
text column).  :class:`ReviewContext` is what a review is of (input, model,
settings), :class:`ReviewInfo` the summary that ``qtui reviews`` and the "resume?"
question show, :class:`SavedReview` a review read back whole.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.review import ReviewState
from engine.review_record import ReviewRecord

STATE_NAME = "state.json"
SET_ASIDE_GLOB = "state.superseded-*.json"


def data_root() -> Path:
    """``$QTUI_DATA_DIR`` if set, else the user data directory for qtui."""
    env = os.environ.get("QTUI_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("qtui", appauthor=False))


def reviews_root(root: Path | None = None) -> Path:
    return Path(root or data_root()) / "reviews"


def review_key(fingerprint: str, text_col: str) -> str:
    """Directory name of the review of content ``fingerprint`` read with ``text_col``."""
    return f"{fingerprint}-{hashlib.blake2b(text_col.encode('utf-8', 'surrogatepass'), digest_size=4).hexdigest()}"


def file_fingerprint(path: str | Path) -> str:
    """The fingerprint :func:`engine.loading.load` gives ``path`` (BLAKE2b-128 of its bytes)."""
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()


@dataclass
class ReviewContext:
    """What a review is of: the input, the model and the clustering settings (all JSON)."""

    input: dict
    model: dict
    settings: dict

    @classmethod
    def of(cls, corpus, settings, model_options=None, identity: dict | None = None) -> "ReviewContext":
        """Context for ``corpus`` clustered with ``settings`` (a ClusterSettings) by a model.

        ``model_options`` is the session's :class:`engine.session.ModelOptions`;
        device and batch size are not kept (they belong to the machine).
        """
        from dataclasses import asdict

        options = {} if model_options is None else {k: v for k, v in asdict(model_options).items()
                                                     if k not in ("device", "batch_size")}
        options = _concrete_model(options, identity or {})
        info = {"path": str(Path(corpus.path).resolve()), "fingerprint": corpus.fingerprint, "text_col": corpus.text_col,
                "id_col": corpus.id_col, "label_col": corpus.label_col, "encoding": corpus.encoding,
                "rows": len(corpus)}
        return cls(info, {"options": options, "identity": dict(identity or {})},
                   settings.to_dict() if hasattr(settings, "to_dict") else dict(settings))

    def cluster_settings(self):
        """The saved settings as a :class:`engine.clustering.ClusterSettings`."""
        from engine.clustering import ClusterSettings

        return ClusterSettings(**self.settings)

    def model_options(self):
        """The saved model options as :class:`engine.session.ModelOptions`."""
        from engine.options import ModelOptions

        known = ModelOptions.__dataclass_fields__
        options = _concrete_model(self.model.get("options", {}), self.model.get("identity", {}))
        return ModelOptions(**{k: v for k, v in options.items() if k in known})


def _concrete_model(options: dict, identity: dict) -> dict:
    """``options`` naming the model that embedded (from ``identity``) where they left it to ``auto``, so a
    review reopens with the vectors it was made with (a static model's source model: the static model is
    distilled from it)."""
    from engine.model_choice import is_auto

    name = identity.get("source") or identity.get("name")
    if is_auto(options.get("model")) and not options.get("embed_url") and name:
        return {**options, "model": name}
    return options


@dataclass
class ReviewInfo:
    """What a saved review is, read without replaying it: for a "resume?" prompt."""

    path: Path
    saved_at: float | None
    context: ReviewContext | None
    summary: dict = field(default_factory=dict)
    problem: str | None = None  # set when the state file cannot be read

    @property
    def review_id(self) -> str:
        """The id ``qtui reviews`` lists and ``--review`` takes: the review folder, plus the time it was set
        aside for a review that is not the folder's current one."""
        folder = self.path.parent.name
        key = folder.split("-")[0][:8] + folder.split("-")[-1][:4]
        stamp = self.path.name.removeprefix("state.superseded-").removesuffix(".json")
        return key if self.path.name == STATE_NAME else f"{key}.{stamp}"

    @property
    def set_aside(self) -> bool:
        """Whether this review was set aside (a newer one of the same content took its place)."""
        return self.path.name != STATE_NAME

    def has_decisions(self) -> bool:
        """Whether a person did anything in it (an action, a name or a decision)."""
        s = self.summary
        return bool(s.get("actions") or s.get("reviewed") or s.get("named"))

    def describe(self, now: float | None = None) -> str:
        """E.g. '23/61 clusters reviewed, saved 2 h ago, kmeans k=61'."""
        if self.problem:
            return f"a saved review exists but cannot be read ({self.problem})"
        s = self.summary
        parts = [f"{s.get('reviewed', 0)}/{s.get('clusters', 0)} clusters reviewed"]
        if s.get("named"):
            parts[0] += f", {s['named']} named"
        if s.get("actions"):
            parts[0] += f" ({s['actions']} action{'s' * (s['actions'] != 1)})"
        if self.saved_at is not None:
            parts.append(f"saved {ago((now or time.time()) - self.saved_at)}")
        if self.context is not None:
            parts.append(self.context.cluster_settings().describe())
        return ", ".join(parts)


@dataclass
class SavedReview:
    """A loaded review: its record (epochs, history and ``ui`` included) and what it is of."""

    record: ReviewRecord
    context: ReviewContext
    saved_at: float
    info: ReviewInfo

    @property
    def state(self) -> ReviewState:
        """The review in effect (the current epoch's)."""
        return self.record.state


def ago(seconds: float) -> str:
    """'just now', '5 min ago', '2 h ago', '3 days ago'."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"
