"""The re-cluster dialog: pick auto, HDBSCAN or KMeans and their parameters, or reduce to N clusters along
the clustering's tree (no re-clustering)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from tui.actions import bindings
from engine.clustering import ClusterSettings
from tui.screens.modal import Modal


class ReclusterScreen(Modal[ClusterSettings | int | None]):
    """Returns new :class:`ClusterSettings`, a number of clusters to reduce to along the tree (an int), or None
    when cancelled."""

    BINDINGS = bindings("recluster")

    DEFAULT_CSS = """
    ReclusterScreen { align: center middle; }
    ReclusterScreen > Vertical { width: 64; max-width: 95%; height: auto; max-height: 100%;
                                 border: round $primary; background: $panel; padding: 0 2; }
    ReclusterScreen RadioSet { width: 100%; margin-bottom: 1; }
    ReclusterScreen .field { height: 1; margin-bottom: 1; }
    ReclusterScreen .field Label { width: 22; }
    ReclusterScreen .field Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    ReclusterScreen #recluster-help { color: $text-muted; margin-bottom: 1; }
    ReclusterScreen #recluster-buttons { height: auto; align-horizontal: right; }
    ReclusterScreen #recluster-buttons Button { margin-left: 2; }
    ReclusterScreen #reduce-row { height: auto; margin-top: 1; border-top: solid $panel-lighten-2; }
    ReclusterScreen #reduce-row Label { width: 22; padding-top: 1; }
    ReclusterScreen #reduce-row Input { width: 1fr; }
    ReclusterScreen #reduce-row Button { margin-left: 1; }
    """

    def __init__(self, current: ClusterSettings, has_tree: bool = False) -> None:
        """``has_tree``: the clustering has a tree, so it can be reduced to N clusters without re-clustering."""
        super().__init__()
        self.current = current
        self.has_tree = has_tree

    def compose(self) -> ComposeResult:
        c = self.current
        with Vertical() as box:
            box.border_title = "Re-cluster"
            yield Static("The current clusters stay usable until the new ones are ready.", id="recluster-help")
            with RadioSet(id="algo"):
                yield RadioButton("auto — finds the number of groups", value=c.algo == "auto", id="algo-auto")
                yield RadioButton("HDBSCAN — density, leaves outliers unclustered", value=c.algo == "hdbscan",
                                  id="algo-hdbscan")
                yield RadioButton("KMeans — exactly k groups", value=c.algo == "kmeans", id="algo-kmeans")
            with Horizontal(classes="field"):
                yield Label("k (KMeans)")
                yield Input(str(c.k or ""), placeholder="from the data", type="integer", id="k")
            with Horizontal(classes="field"):
                yield Label("min cluster size")
                yield Input(str(c.min_cluster_size or ""), placeholder="from the data", type="integer", id="mcs")
            with Horizontal(classes="field"):
                yield Label("seed")
                yield Input(str(c.seed), type="integer", id="seed")
            with Horizontal(id="recluster-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Re-cluster", variant="primary", id="apply")
            if self.has_tree:
                with Horizontal(id="reduce-row"):
                    yield Label("or reduce to N")
                    yield Input(placeholder="clusters, from the tree", type="integer", id="reduce")
                    yield Button("Reduce", id="reduce-button")

    def _algo(self) -> str:
        pressed = self.query_one("#algo", RadioSet).pressed_button
        return (pressed.id or "algo-auto").removeprefix("algo-") if pressed else "auto"

    @staticmethod
    def _int(value: str) -> int | None:
        value = value.strip()
        return int(value) if value.lstrip("-").isdigit() else None

    def action_apply(self) -> None:
        algo = self._algo()
        k = self._int(self.query_one("#k", Input).value)
        mcs = self._int(self.query_one("#mcs", Input).value)
        seed = self._int(self.query_one("#seed", Input).value) or 0
        try:
            settings = ClusterSettings(algo=algo, k=k, min_cluster_size=mcs, seed=seed,
                                       min_samples=self.current.min_samples if algo == "hdbscan" else None)
        except Exception as exc:  # UsageError: say what is wrong, keep the dialog open
            self.notify(str(exc), severity="error")
            return
        self.dismiss(settings)

    def action_reduce(self) -> None:
        """Go to the tree's level nearest N clusters (the clusters stay; no re-clustering)."""
        n = self._int(self.query_one("#reduce", Input).value)
        if n is None or n < 1:
            self.notify("Give the number of clusters to reduce to (1 or more).", severity="error")
            return
        self.dismiss(n)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        elif event.button.id == "reduce-button":
            self.action_reduce()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "reduce":
            self.action_reduce()
        else:
            self.action_apply()
