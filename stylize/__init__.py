"""stylize: neural style transfer (Gatys et al.) on a TF1-style VGG-19 graph.

Importing this package never imports TensorFlow; the modules that build graphs do.
"""

__version__ = "0.1.0"
