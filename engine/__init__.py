"""qtui engine: a UI-free library that loads texts, embeds, clusters and explains them.

The engine never imports Textual.  Every long step takes a progress callback and a
cancel token (see :mod:`engine.progress`).
"""

__version__ = "0.1.0"
