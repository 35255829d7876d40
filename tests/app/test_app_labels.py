"""Labels in the real app (Pilot): the name prompt's pick of labels in use, the labels list, the suspects queue,
proposals by label one by one and per label, and starting from labels (--labels, --labels-from)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from engine.clustering import ClusterSettings
from engine.review import CLASSIFIER, CLUSTER, KEPT
from engine.session import SessionOptions
from tests.app.test_app_review import name_cluster, settle
from tests.app_helpers import wait_opened, wait_until
from tests.conftest import make_app, shared_set
from tui.screens.label_proposals_screen import ALL, LabelProposalsScreen
from tui.screens.labels_screen import LabelsScreen
from tui.screens.name_screen import NameScreen
from tui.screens.seeds_screen import SeedsScreen
from tui.screens.suspects_screen import SuspectsScreen
from tui.widgets.cluster_table import ClusterTable


async def test_the_name_prompt_joins_a_label_in_use_and_the_labels_list_goes_to_it(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        table = app.query_one("#clusters", ClusterTable)
        first = table.current_cluster
        await name_cluster(pilot, app, "Battery life")
        await pilot.press("down")
        second = table.current_cluster
        await pilot.press("n")
        assert isinstance(app.screen, NameScreen)
        app.screen.query_one("#prompt-input").value = "batt"
        await pilot.pause(0.1)
        assert [lab.name for lab in app.screen.offered] == ["Battery life"]
        await pilot.press("down", "enter")  # the label picked, not the text typed
        await settle(pilot, app)
        review = app.review
        assert review.state.name(second) == "Battery life"
        assert [lab.name for lab in review.labels()] == ["Battery life"]
        assert sorted(review.label("battery  LIFE").cluster_ids) == sorted([first, second])
        await pilot.press("down")
        third = table.current_cluster
        await name_cluster(pilot, app, "screen")
        await pilot.press("N")
        assert isinstance(app.screen, LabelsScreen)
        listed = [lab.name for lab in app.screen.labels]
        assert listed == [lab.name for lab in review.labels()] and set(listed) == {"Battery life", "screen"}
        # the list goes to the label's largest cluster
        target = review.label("screen")
        await pilot.press(*["down"] * listed.index("screen"), "enter")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, LabelsScreen)
        assert table.current_cluster == target.cluster == third


async def test_the_suspects_queue_keeps_moves_sends_and_undoes(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await name_cluster(pilot, app, "first label")
        await pilot.press("exclamation_mark")
        assert isinstance(app.screen, SuspectsScreen)
        screen = app.screen
        await wait_until(pilot, lambda: screen.open is not None, 120, "the suspects")
        assert len(screen.open) >= 4, "the sample's KMeans clusters have suspects"
        state = app.review.state
        # n keeps the first: it leaves the queue
        kept = int(screen.open.rows[0])
        await pilot.press("n")
        assert state.source[kept] == KEPT and kept not in screen.open.rows
        # y moves the next to its likely label (or cluster)
        moved, likely = int(screen.open.rows[0]), int(screen.open.likely_cluster[0])
        await pilot.press("y")
        assert int(app.review.state.labels[moved]) == likely and moved not in screen.open.rows
        # a digit sends it to that alternative
        here = app.review.state.name(int(screen.open.cluster_ids[0])) or f"#{int(screen.open.cluster_ids[0])}"
        digit = next(d for d, name in enumerate(screen.open.alternatives[0], 1) if d > 1 and name != here)
        sent, alternative = int(screen.open.rows[0]), screen.open.alternatives[0][digit - 1]
        await pilot.press(str(digit))
        label = app.review.state.labels[sent]
        assert (f"#{label}" == alternative or app.review.state.name(int(label)) == alternative)
        assert sent not in screen.open.rows
        # undo brings the last one back into the queue, in its place
        await pilot.press("ctrl+z")
        assert int(screen.open.rows[0]) == sent and app.review.state.source[sent] == CLUSTER
        # marks: n keeps every marked suspect at once
        marked = screen.open.rows[:2].tolist()
        await pilot.press("space", "space", "n")
        assert all(app.review.state.source[r] == KEPT for r in marked)
        status = str(screen.query_one("#suspects-status").render())
        assert f"Kept 2 texts where they are · {len(screen.open):,} of" in status
        await pilot.press("escape")
        await settle(pilot, app)
        assert not isinstance(app.screen, SuspectsScreen)
        assert app.review.state.source[kept] == KEPT  # saved on the board


async def test_proposals_by_label_one_by_one_per_label_and_after_a_reclustering(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await pilot.press("L")
        await pilot.pause(0.5)
        assert not isinstance(app.screen, LabelProposalsScreen)  # fewer than two labels: it says so
        await name_cluster(pilot, app, "alpha")
        await pilot.press("down")
        await name_cluster(pilot, app, "beta")
        await pilot.press("L")
        await wait_until(pilot, lambda: isinstance(app.screen, LabelProposalsScreen), 120, "the proposals")
        screen = app.screen
        total = len(screen.open)
        named = np.isin(app.review.state.labels, [c for lab in app.review.labels() for c in lab.cluster_ids])
        assert total > 0 and not named[screen.open.rows].any()  # the rows of unnamed clusters get proposals
        screen.query_one("#proposals-filter #threshold-input").value = "0.00"
        await wait_until(pilot, lambda: screen.threshold == 0.0, 10, "the threshold")
        lst = screen.list
        lst.focus()
        first, second = int(lst.rows[0]), int(lst.rows[1])
        first_label = screen._picked().labels[0]
        await pilot.press("y")
        state = app.review.state
        assert state.source[first] == CLASSIFIER and state.name(int(state.labels[first])) == first_label
        assert len(screen.open) == total - 1 and first not in screen.open.rows
        assert int(lst.rows[0]) == second
        await pilot.press("n")
        assert state.source[second] == KEPT and len(screen.open) == total - 2
        # per label: highlight "beta" on the left, a accepts every one of its proposals
        options = screen.query_one("#proposals-labels")
        options.focus()
        options.highlighted = screen.label_ids.index("beta")
        await pilot.pause(0.1)
        assert screen.label == "beta"
        betas = screen.open.of_label("beta").rows
        assert len(betas)
        await pilot.press("a")
        assert all(state.name(int(state.labels[r])) == "beta" for r in betas)
        assert screen.label == ALL and not len(screen.open.of_label("beta"))
        await pilot.press("ctrl+z")
        assert len(screen.open.of_label("beta")) == len(betas)
        await pilot.press("escape")
        await settle(pilot, app)
        # a re-clustering keeps the labels (names carry over): proposals work on the new clusters
        app.board_screen.commands.action_recluster(ClusterSettings("kmeans", k=6))
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ChoiceScreen" or
                         app.review.analysis.clustering.settings.k == 6, 120, "the new clustering")
        if app.screen.__class__.__name__ == "ChoiceScreen":
            await pilot.press("enter")
        await wait_until(pilot, lambda: app.review.analysis.clustering.settings.k == 6, 60, "the switch")
        await settle(pilot, app)
        assert {"alpha", "beta"} <= {lab.name for lab in app.review.labels()}
        await pilot.press("L")
        await wait_until(pilot, lambda: isinstance(app.screen, LabelProposalsScreen), 120, "the proposals again")
        screen = app.screen
        screen.query_one("#proposals-filter #threshold-input").value = "0.00"
        await wait_until(pilot, lambda: screen.threshold == 0.0, 10, "the threshold")
        shown = screen._picked().rows
        assert len(shown)
        await pilot.press("ctrl+s")  # every proposal shown
        assert len(screen.open) == 0 and (app.review.state.source[shown] == CLASSIFIER).all()


LABELS_TXT = """# the sample's themes, described
battery: the battery drains fast, charging and battery life
screen: the display, brightness and colours of the screen
audio: sound quality, noise cancelling, earbuds and speakers
delivery: shipping, delivery and the package arriving late or damaged
price
"""


async def test_open_with_labels_proposes_a_label_per_cluster(embedder, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text(LABELS_TXT, encoding="utf-8")
    app = make_app(embedder, options=SessionOptions(labels=labels))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        seeding = app.board_screen.seeding
        await wait_until(pilot, lambda: seeding.votes is not None, 120, "the proposed labels")
        await settle(pilot, app)
        proposed = seeding.proposals(app.review)
        assert set(proposed) == set(app.board.view.ids.tolist())
        assert {p.label for p in proposed.values()} <= {"battery", "screen", "audio", "delivery", "price"}
        table = app.query_one("#clusters", ClusterTable)
        names = {line.id: line.name for line in table._rows}
        for cid, p in proposed.items():
            assert names[cid].startswith(f"≈ {p.label} {p.confidence:.0%}")
        # the name prompt offers the proposal
        cid = table.current_cluster
        await pilot.press("n")
        assert app.screen.query_one("#prompt-input").value == proposed[cid].label
        hint = str(app.screen.query_one("#prompt-hint").render())
        assert "proposed from" in hint and "labels.txt" in hint
        await pilot.press("escape")
        # P lists them; Enter accepts one: a rename
        await pilot.press("P")
        assert isinstance(app.screen, SeedsScreen)
        screen = app.screen
        top = screen.listed[0]
        assert top.confidence == max(p.confidence for p in proposed.values())
        await pilot.press("enter")
        assert app.review.state.name(top.cluster_id) == top.label
        assert top.cluster_id not in [p.cluster_id for p in screen.listed]
        await pilot.press("ctrl+z")
        assert app.review.state.name(top.cluster_id) is None and screen.listed[0].cluster_id == top.cluster_id


async def test_open_with_labels_from_an_earlier_export_proposes_its_labels(embedder, tmp_path):
    """Last month's export of six banking77 intents (every 5th row, gold labels as its names) seeds this
    month's rows (others of the same intents): most clusters get the label most of their rows carry."""
    rows = [json.loads(line) for line in shared_set("banking77").read_text(encoding="utf-8").splitlines()]
    intents = sorted({r["label"] for r in rows})[:6]
    rows = [r for r in rows if r["label"] in intents]
    earlier = rows[::5]
    pl.DataFrame({"id": [r["id"] for r in earlier], "text": [r["text"] for r in earlier],
                  "cluster_label": [r["label"] for r in earlier]}).write_csv(tmp_path / "earlier.labeled.csv")
    this_month = rows[2::5]
    now = tmp_path / "now.jsonl"
    now.write_text("\n".join(json.dumps(r) for r in this_month) + "\n", encoding="utf-8")
    gold = [r["label"] for r in this_month]
    app = make_app(embedder, now, settings=ClusterSettings("kmeans", k=6),
                   options=SessionOptions(labels_from=tmp_path / "earlier.labeled.csv"))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        seeding = app.board_screen.seeding
        await wait_until(pilot, lambda: seeding.votes is not None, 300, "the proposed labels")
        await settle(pilot, app)
        proposed = seeding.proposals(app.review)
        assert len(proposed) == 6 and {p.label for p in proposed.values()} <= set(intents)
        labels = app.review.state.labels
        rows = app.review.session.rows
        gold_of = np.asarray(gold, dtype=object)[rows]
        # a proposal is what its rows' gold labels mostly are more often than not
        hits = sum(p.label == max(set(gold_of[labels[rows] == c]), key=list(gold_of[labels[rows] == c]).count)
                   for c, p in proposed.items())
        assert hits >= 4, f"only {hits} of 6 clusters proposed their majority label"
        await pilot.press("P")
        assert isinstance(app.screen, SeedsScreen)
        top = app.screen.listed[0]
        await pilot.press("enter")
        assert app.review.label(top.label).cluster_ids == [top.cluster_id]
