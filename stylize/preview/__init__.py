"""A live preview of a run in a web browser: the current image, the iteration, the costs,
time left and the cost curve, served from the stylize process while it works.

``Board`` holds what the page shows (the run writes it); ``PreviewServer`` serves it. Only
the standard library's HTTP server and Pillow are used, and TensorFlow is never imported.
"""

from stylize.preview.board import Board
from stylize.preview.server import PreviewServer

__all__ = ["Board", "PreviewServer"]
