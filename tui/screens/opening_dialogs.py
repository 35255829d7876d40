"""What opening a file asks and says: resume the saved review or start a new one, the clustering options
asked for on the command line, and the notes about the file and the model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from engine.clustering import ClusterSettings
from tui.screens.choice_screen import ChoiceScreen

if TYPE_CHECKING:
    from engine.session import Session


class Note(NamedTuple):
    """One notification shown once the board is on screen."""

    text: str
    title: str = ""
    severity: str = "information"
    timeout: float = 6


def resume_question(found) -> ChoiceScreen:
    """Resume the saved review ``found`` (or carry it over to the changed file), or start a new one."""
    resume = "Resume where I left off" if found.same_content else "Carry it over to the file as it is now"
    return ChoiceScreen("Resume your review?", found.describe(), [("resume", resume), ("new", "Start a new review…")],
                        cancel="resume")


def confirm_new_review(found, path: Path) -> ChoiceScreen:
    """Say where the saved review goes when a new one starts (set aside, never deleted), and ask."""
    info = found.found.info
    message = (f"The saved review ({info.describe()}) will be set aside, not deleted: 'qtui reviews {path}' lists "
               f"it as {info.review_id}, and 'qtui open --review {info.review_id}' or the command palette's "
               f"'Earlier reviews' opens it again.")
    return ChoiceScreen("Start a new review?", message,
                        [("back", "Go back"), ("new", "Set it aside and start a new review")], cancel="back")


def offer_settings(asked: ClusterSettings, have: ClusterSettings) -> ChoiceScreen:
    """The command line asked for other clustering options than the resumed review's: offer them."""
    return ChoiceScreen("Other clustering options", f"You asked for {asked.describe()}; the saved review uses "
                        f"{have.describe()}. Re-cluster with {asked.describe()}, carrying the review over (ctrl+z "
                        f"undoes it)?", [("recluster", f"Re-cluster with {asked.describe()}"),
                                         ("keep", "Keep the review's clustering")], cancel="keep")


def opening_notes(session: "Session") -> list[Note]:
    """What the person should know about the file and the model once the board is on screen."""
    notes = [Note(line) for line in session.corpus.notices]
    if session.model_choice:
        notes.append(Note(session.model_choice.line, "Model", timeout=8))
    if session.language_warning:
        notes.append(Note(session.language_warning, "Model and language", "warning", 15))
    if len(session.truncated_rows):
        notes.append(Note(f"{len(session.truncated_rows):,} texts are longer than the model's limit and were "
                          f"embedded from their beginning only", severity="warning", timeout=8))
    if session.corpus.skipped:
        first = session.corpus.skipped[0]
        notes.append(Note(f"{len(session.corpus.skipped):,} malformed records skipped; first: line {first.line}: "
                          f"{first.reason}", severity="warning", timeout=10))
    return notes
