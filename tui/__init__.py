"""qtui's user interfaces: the ``qtui`` command (:mod:`tui.cli`) and the Textual app (:mod:`tui.app`).

Nothing here does engine work; importing this package does not import Textual.
"""

import os

#: Textual paints at most ``TEXTUAL_FPS`` frames a second (60 unless set), read once when Textual is
#: imported.  A key whose effect takes two paints (a search's results after the typed letter, the detail
#: pane after the cursor) waits up to two frames for the second, so qtui asks for 240 (figures in
#: benchmarks/README.md).  Frames are only painted when something changed, so an idle app costs nothing more.
os.environ.setdefault("TEXTUAL_FPS", "240")
