"""The float32 J of finished images: how a bfloat16 run's result scores in the exact graph.

    python benchmarks/rescore.py --weights W.mat --content C.png --style S.png A.png B.png

All images must have the content's size (the style is used at that size too, as in the
benchmark). Builds stylize's float32 TransferGraph with the default settings, sets the
content and style targets, and prints one JSON object: image path -> {J, J_content, J_style}.
A float32 run's result rescores to the J it reported, which checks this script.
"""

from __future__ import annotations

import argparse
import json
import sys

from stylize.config import Settings
from stylize.device import CPU
from stylize.images import load_image, preprocess
from stylize.optimize import TransferGraph
from stylize.weights import load_vgg19


def rescore(weights_path: str, content_path: str, style_path: str, images: list[str]) -> dict:
    """{path: {J, J_content, J_style}} of each image in the float32 graph."""
    settings = Settings()
    weights = load_vgg19(weights_path, settings.deepest_layer)
    content = load_image(content_path, role="content image")
    style = load_image(style_path, role="style image")
    graph = TransferGraph(weights, settings, CPU)
    try:
        preprocessed = preprocess(content, weights.mean_pixel)
        graph.set_targets(graph.content_features(preprocessed),
                          graph.style_grams(preprocess(style, weights.mean_pixel)))  # fmt: skip
        scores = {}
        for path in images:
            costs = graph.evaluate(preprocess(load_image(path), weights.mean_pixel))
            scores[path] = {"J": costs.J, "J_content": costs.J_content, "J_style": costs.J_style}
        return scores
    finally:
        graph.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--content", required=True)
    parser.add_argument("--style", required=True)
    parser.add_argument("images", nargs="+")
    args = parser.parse_args(argv)
    print(json.dumps(rescore(args.weights, args.content, args.style, args.images)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
