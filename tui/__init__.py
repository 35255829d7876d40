"""qtui's user interfaces: the ``qtui`` command (:mod:`tui.cli`) and the Textual app (:mod:`tui.app`).

Nothing here does engine work; importing this package does not import Textual.
"""
