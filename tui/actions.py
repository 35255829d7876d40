"""Every key of the app in one table: the bindings of each pane and dialog, the command palette and the help
are all built from :data:`ACTIONS`, so a key is declared once and the three never drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

#: Where a key works, in the order the help lists them, with the heading it shows.
PLACES = {
    "anywhere": "Anywhere",
    "board": "Anywhere",
    "filter": "Anywhere",
    "labelling": "Anywhere",
    "clusters": "Clusters pane",
    "members": "Members / results pane",
    "search": "Search bar",
    "choice": "A question (resume? replace? …)",
    "prompt": "A prompt (name, split, export path)",
    "message": "A message",
    "move": "Move texts to…",
    "name": "Name a cluster",
    "labels": "Labels",
    "suspects": "Suspects",
    "proposals": "Classify the rest (by label)",
    "accepted-proposals": "Classify the rest from accepted clusters",
    "seeds": "Proposed labels (--labels, --labels-from)",
    "duplicates": "Near duplicates",
    "recluster": "Re-cluster",
    "reviews": "Saved reviews",
    "pick": "Pick a statistic, compare",
    "tree": "Tree tab",
    "suggestions": "Likely one topic (merge suggestions)",
    "help": "This help",
}


@dataclass(frozen=True)
class Action:
    """One key: what it runs (a Textual action of the node it is bound on), where, and how it is shown.

    ``where`` is the place: ``anywhere`` binds on the app, ``board`` on the board screen (with ``pane``: on
    its review commands, around every pane), ``filter`` on the row filter's commands and ``labelling`` on the labelling commands (both around every
    pane), a pane's name on that pane's list (with ``pane``: on the pane
    around the list, its review decisions), a dialog's name on that dialog."""

    keys: str
    action: str
    description: str
    where: str
    footer: bool = False  # shown in the footer when it applies
    palette: str | None = None  # its title in the command palette (None: not listed)
    explain: str = ""  # the palette's longer line (default: the description)
    priority: bool = False
    pane: bool = False  # bound on the pane around the list, not the list

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.description, show=self.footer, priority=self.priority)


def _review(keys: str, name: str, description: str, where: str, palette: str, explain: str,
            footer: bool = True) -> Action:
    return Action(keys, name, description, where, footer, palette, explain, pane=True)


ACTIONS: list[Action] = [
    # anywhere (bound on the app), then anywhere on the board (bound on its screen)
    Action("q", "quit", "Quit", "anywhere", True, "Quit", "Quit (a review that could not be saved asks first)"),
    Action("question_mark,f1", "help", "Help", "anywhere", True, "Help", "List every key of the app"),
    Action("slash", "focus_query", "Search", "board", True, "Search", "Find texts like a phrase"),
    Action("ctrl+z", "undo", "Undo", "board", True, "Undo", "Undo the last step, a re-clustering included", pane=True),
    Action("ctrl+y", "redo", "Redo", "board", False, "Redo", "Redo the last undone step", pane=True),
    Action("c", "recluster", "Re-cluster", "board", False, "Re-cluster",
           "Switch auto / HDBSCAN / KMeans, change k or min cluster size (undoable)", pane=True),
    Action("L", "classify_rest", "Classify the rest", "labelling", False, "Classify the rest",
           "The named clusters teach a classifier that proposes a label for every other text: accept or reject "
           "them one by one, per label or by confidence"),
    Action("", "classify_accepted", "Classify the rest from accepted clusters", "labelling",
           palette="Classify the rest from accepted clusters",
           explain="Learn the accepted clusters (with a 'none of these' class), propose clusters for the other "
                   "texts"),
    Action("exclamation_mark", "suspects", "Suspects", "labelling", False, "Suspects",
           "Members that their neighbours or a classifier put in another label: keep them or move them"),
    Action("N", "labels", "Labels", "labelling", False, "Labels",
           "The labels in use, with their texts and clusters; Enter goes to a label's largest cluster"),
    Action("P", "proposed_labels", "Proposed labels", "labelling", False, "Proposed labels",
           "The label --labels or --labels-from proposes for each cluster: accept one (a rename)"),
    Action("D", "near_duplicates", "Near duplicates", "board", False, "Near duplicates",
           "Groups of near-identical texts, to review or collapse once", pane=True),
    Action("e", "export", "Export", "board", True, "Export",
           "Write every row with its cluster, label and status to a file", pane=True),
    Action("ctrl+g", "go_to_cluster", "Go to cluster…", "board", False, "Go to cluster",
           "Jump to a cluster by its number or name"),
    Action("bracketright", "next_unreviewed(1)", "Next unreviewed", "board", False, "Next unreviewed cluster",
           "Jump to the next cluster without a decision"),
    Action("bracketleft", "next_unreviewed(-1)", "Previous unreviewed", "board", False,
           "Previous unreviewed cluster", "Jump to the previous cluster without a decision"),
    Action("1", "show_tab('detail')", "Detail tab", "board", False, "Show detail", "Open the detail tab"),
    Action("2", "show_tab('keywords')", "Keywords tab", "board", False, "Show keywords", "Open the keywords tab"),
    Action("3", "show_tab('metrics')", "Metrics tab", "board", False, "Show metrics", "Open the metrics tab"),
    Action("4", "show_tab('map')", "Map tab", "board", False, "Show map", "Open the map tab"),
    Action("5", "show_tab('columns')", "Columns tab", "board", False, "Show columns",
           "Open the columns tab: the selected cluster's values, numbers and dates beside the file's"),
    Action("f", "filter_rows", "Filter rows", "filter", True, "Filter rows",
           "Show only the rows a SQL WHERE over the columns matches (f again clears it)"),
    Action("C", "compare", "Compare", "filter", False, "Compare the filter with the rest",
           "Clusters ranked by how much more the filtered rows fall in them than the other rows"),
    _review("R", "recluster_filter", "Re-cluster the filter", "board", "Re-cluster the filtered rows",
            "Cluster only the rows of the filter again, into new clusters (one undoable step)", footer=False),
    Action("6", "show_tab('tree')", "Tree tab", "board", False, "Show tree",
           "Open the tree tab: broad groups and their finer parts, with sizes, names and keywords"),
    Action("plus,equals_sign", "zoom(1)", "Broader groups", "board", False, "Zoom out: broader groups",
           "Show the tree's next coarser level: fewer, broader groups (no re-clustering)"),
    Action("minus", "zoom(-1)", "Finer groups", "board", False, "Zoom in: finer groups",
           "Show the tree's next finer level, back down to the review's own clusters (and below, for auto)"),
    _review("J", "merge_suggestions", "Likely one topic…", "board", "Merge suggestions",
            "The closest sibling clusters of the tree, as likely one topic; Enter merges a pair", footer=False),
    Action("escape", "escape", "Back / cancel", "board"),
    Action("tab", "cycle_pane(1)", "Next pane", "board", priority=True),
    Action("shift+tab", "cycle_pane(-1)", "Previous pane", "board", priority=True),
    Action("", "earlier_reviews", "Earlier reviews", "board", palette="Earlier reviews",
           explain="Saved reviews of this file: set aside, or of earlier versions; open one", pane=True),
    Action("", "refine", "Refine with the full model", "board", palette="Refine with the full model",
           explain="A static first view: embed with the full model in the background, then offer its clusters",
           pane=True),
    Action("", "stop_refining", "Stop refining", "board", palette="Stop refining",
           explain="Stop embedding with the full model (what is done stays cached; Refine goes on from there)",
           pane=True),
    Action("", "switch_refined", "Switch to the refined clusters", "board", palette="Switch to the refined clusters",
           explain="Show the full model's clusters, carrying the review over (ctrl+z undoes)", pane=True),
    Action("", "focus_clusters", "Go to the clusters pane", "board", palette="Go to clusters",
           explain="Focus the clusters pane"),
    Action("", "focus_members", "Go to the members pane", "board", palette="Go to members",
           explain="Focus the members pane"),
    # the clusters pane
    Action("up,k", "cursor_up", "Previous cluster", "clusters"),
    Action("down,j", "cursor_down", "Next cluster", "clusters"),
    Action("pageup,ctrl+b", "page(-1)", "Page up", "clusters"),
    Action("pagedown,ctrl+f", "page(1)", "Page down", "clusters"),
    Action("home,g", "jump(0)", "First cluster", "clusters"),
    Action("end,G", "jump(-1)", "Last cluster", "clusters"),
    Action("enter", "screen.focus_members", "Open its members", "clusters"),
    Action("space", "toggle_mark", "Mark, next (for merging, or accept/reject in bulk)", "clusters"),
    _review("n", "name_cluster", "Name", "clusters", "Name cluster",
            "Name the selected cluster (suggested from its keywords); an empty name clears it"),
    _review("a", "accept_cluster", "Accept, next", "clusters", "Accept cluster",
            "Accept the selected or marked clusters, then move on to the next"),
    _review("x", "reject_cluster", "Reject, next", "clusters", "Reject cluster",
            "Reject the selected or marked clusters, then move on to the next"),
    _review("u", "unreview_cluster", "Unreviewed", "clusters", "Mark unreviewed",
            "Clear the decision on the selected or marked clusters", footer=False),
    _review("M", "merge_clusters", "Merge", "clusters", "Merge clusters", "Merge the clusters marked with Space"),
    _review("S", "split_cluster", "Split", "clusters", "Split cluster",
            "Cluster the selected cluster's texts again, into k parts or auto"),
    _review("s", "sort_clusters", "Sort", "clusters", "Sort clusters",
            "Cycle the sort: size, cohesion, name, then the statistic column's (growing / shrinking fastest)",
            footer=False),
    _review("t", "choose_stat", "Statistic column", "clusters", "Statistic column",
            "Show a statistic per cluster (mean rating, share of a value, trend over the dates) and sort by it",
            footer=False),
    _review("F", "filter_clusters", "Filter", "clusters", "Filter clusters",
            "Show only the clusters whose name matches, or unreviewed/accepted/rejected ones", footer=False),
    # the members pane
    Action("up,k", "cursor(-1)", "Previous text", "members"),
    Action("down,j", "cursor(1)", "Next text", "members"),
    Action("pageup,ctrl+b", "page(-1)", "Page up", "members"),
    Action("pagedown,ctrl+f", "page(1)", "Page down", "members"),
    Action("home,g", "jump(0)", "First text", "members"),
    Action("end,G", "jump(-1)", "Last text", "members"),
    Action("space", "toggle_mark", "Mark, next", "members", True),
    Action("A", "mark_all", "Mark all shown", "members"),
    Action("I", "invert_marks", "Invert the marks", "members"),
    _review("w", "mark_word_hits", "Mark all matching", "members", "Mark all matching",
            "Show and mark every text holding the search's words, so one move applies to all", footer=False),
    _review("v", "move_members", "Move to…", "members", "Move texts",
            "Move the marked texts (or the one under the cursor) to a cluster picked by name"),
    _review("d,delete", "members_to_noise", "To noise", "members", "Send texts to noise",
            "Move the marked texts (or the one under the cursor) to the unclustered group"),
    _review("m", "more_like_this", "More like this", "members", "More like this",
            "Texts most similar to the selected one"),
    # the search bar
    Action("enter", "", "Browse the results", "search"),
    Action("escape", "clear_query", "Clear the search", "search"),
    # dialogs
    Action("enter", "", "Choose the highlighted answer", "choice"),
    Action("escape", "cancel", "Cancel (the safe answer)", "choice"),
    Action("enter", "", "Confirm", "prompt"),
    Action("escape", "cancel", "Cancel", "prompt"),
    Action("escape,enter,q", "dismiss", "Close", "message"),
    Action("down", "to_list", "Go to the list", "move"),
    Action("escape", "cancel", "Cancel", "move"),
    Action("down", "to_list", "Go to the labels in use", "name"),
    Action("escape", "cancel", "Cancel", "name"),
    Action("enter", "", "Go to the label's largest cluster", "labels"),
    Action("escape", "cancel", "Close", "labels"),
    Action("y,enter", "move_likely", "Move to the likely label", "suspects", True),
    Action("n", "keep", "Keep it where it is", "suspects", True),
    *[Action(str(d), f"alternative({d})", "Send to alternative 1 (2–9: to that one)" if d == 1 else "",
             "suspects") for d in range(1, 10)],
    Action("L", "move_label", "Move every suspect of this likely label", "suspects", True),
    Action("space", "toggle_mark", "Mark, next (y, n and digits act on the marked)", "suspects"),
    Action("ctrl+z", "undo", "Undo", "suspects", True),
    Action("escape", "close", "Close", "suspects", True),
    Action("y", "accept_one", "Accept the proposal (or the marked)", "proposals", True),
    Action("n", "reject_one", "Reject the proposal (or the marked): kept where it is", "proposals", True),
    Action("a", "accept_label", "Accept every proposal of the highlighted label", "proposals", True),
    Action("ctrl+s", "accept_shown", "Accept all shown", "proposals", True),
    Action("plus,equals_sign", "threshold(0.05)", "Raise the threshold", "proposals", True),
    Action("minus", "threshold(-0.05)", "Lower the threshold", "proposals", True),
    Action("ctrl+z", "undo", "Undo", "proposals", True),
    Action("escape", "close", "Close", "proposals", True),
    Action("ctrl+s", "accept", "Accept all shown", "accepted-proposals", True),
    Action("plus,equals_sign", "threshold(0.05)", "Raise the threshold", "accepted-proposals", True),
    Action("minus", "threshold(-0.05)", "Lower the threshold", "accepted-proposals", True),
    Action("escape", "reject", "Close without accepting any", "accepted-proposals", True),
    Action("enter", "accept", "Accept the proposed label (a rename)", "seeds", True),
    Action("ctrl+z", "undo", "Undo", "seeds", True),
    Action("escape", "close", "Close", "seeds", True),
    Action("c", "collapse", "Collapse group", "duplicates", True),
    Action("C", "collapse_all", "Collapse all", "duplicates", True),
    Action("plus,equals_sign", "threshold(0.01)", "Raise the threshold", "duplicates"),
    Action("minus", "threshold(-0.01)", "Lower the threshold", "duplicates"),
    Action("ctrl+s", "apply", "Apply and close", "duplicates", True),
    Action("escape", "cancel", "Close without changes", "duplicates", True),
    Action("ctrl+s", "apply", "Apply", "recluster", True),
    Action("escape", "cancel", "Cancel", "recluster", True),
    Action("escape", "cancel", "Close", "reviews"),
    Action("enter", "", "Choose / go to the highlighted line", "pick"),
    Action("escape", "cancel", "Close", "pick"),
    Action("enter", "show_on_board", "Show on the board", "tree", True),
    Action("space,right", "expand_group", "Expand / collapse", "tree", True),
    Action("enter", "", "Merge the highlighted pair", "suggestions"),
    Action("escape", "cancel", "Close", "suggestions"),
    Action("escape,q,question_mark", "dismiss", "Close the help", "help"),
]


def bindings(where: str, pane: bool = False) -> list[Binding]:
    """The bindings of one place (the app, the board, a pane's list or with ``pane`` the pane, a dialog)."""
    return [a.binding() for a in ACTIONS if a.where == where and a.pane == pane and a.keys and a.action]


def palette() -> list[Action]:
    """The actions the command palette lists, in table order."""
    return [a for a in ACTIONS if a.palette]


def help_groups() -> list[tuple[str, list[Binding]]]:
    """Every key by where it works, each once, for the help screen."""
    groups: dict[str, list[Binding]] = {}
    for where, title in PLACES.items():
        keys = [Binding(a.keys, a.action, a.description) for a in ACTIONS if a.where == where and a.keys]
        if keys:
            groups.setdefault(title, []).extend(keys)
    return list(groups.items())


def key_of(action: str) -> str:
    """The first key of an action, for the palette line ('' when it has none)."""
    for a in ACTIONS:
        if a.action == action and a.keys:
            return a.keys.split(",")[0]
    return ""
