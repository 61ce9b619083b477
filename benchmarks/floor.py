"""The floor of the benchmark: one forward plus backward pass through the layers the costs
need, on stylize's own VGG graph, timed in this process.

Two timings are taken after a warm-up, each the median of ``--repeats`` runs:

* ``step``: the gradient with respect to the input image of the sum of the cost layers'
  activations; the convolutions and nothing else of note (no Grams, no costs, no update);
* ``j_gradient``: stylize's TransferGraph.value_and_gradient, i.e. J, its two parts and dJ/dx
  for an image fed in and copied out, which is what one L-BFGS evaluation costs.

The forward pass alone is timed too. ``constant_step`` times ``step`` once more with the conv
kernels as graph constants instead of variables: the plain TensorFlow floor, which oneDNN
may run faster because it knows a constant's layout will not change (benchmarks/README.md,
"Step speed"). Prints one JSON object with the timings and the conv
layer shapes, from which benchmarks/flops.py counts the work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time

import numpy as np
from flops import gram_flops, step_flops  # benchmarks/ is on sys.path when run as a script

from stylize.config import Settings
from stylize.layers import activation_layer
from stylize.weights import load_vgg19


def layer_shapes(weights) -> list[tuple]:
    """(name, kh, kw, in, out) per conv layer and (name,) per pooling layer, in order."""
    shapes = []
    for layer in weights.layers:
        if layer.kind == "conv" and layer.kernel is not None:
            shapes.append((layer.name, *map(int, layer.kernel.shape)))
        elif layer.kind == "pool":
            shapes.append((layer.name,))
    return shapes


def median_seconds(run, repeats: int, warmup: int) -> tuple[float, list[float]]:
    """Median wall seconds of ``run()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples), samples


def work_counts(weights, settings, width: int, height: int) -> dict:
    """The conv layers' shapes and the FLOPs of one step and of the Grams (benchmarks/flops.py)
    at width x height, for the layers ``settings`` read."""
    shapes = layer_shapes(weights)
    style = [name for name, _ in settings.style_layers]
    return {"layers": shapes, "step_flops": step_flops(shapes, width, height),
            "gram_flops": gram_flops(shapes, width, height, style)}  # fmt: skip


class ConstantKernels:
    """The kernels and biases up to ``deepest`` as graph constants in ``dtype``, in the
    shape build_vgg reads from stylize.vgg.WeightVariables (``dtype``, ``tensors``)."""

    def __init__(self, weights, deepest: str, dtype):
        from stylize._tf import tf

        self.dtype = dtype
        self.tensors = {}
        for layer in weights.layers:
            if layer.kind == "conv" and layer.kernel is not None:
                self.tensors[layer.name] = (tf.constant(layer.kernel, dtype=dtype),
                                            tf.constant(layer.bias, dtype=dtype))  # fmt: skip
            if layer.name == deepest:
                break


@contextlib.contextmanager
def plain_pass(weights, settings, shape, constants: bool = False):
    """A session on build_vgg up to the deepest cost layer, with the kernels in variables (as
    stylize runs) or, with ``constants``, as constants; yields (forward, step): callables that
    run the forward pass, and the forward pass and the gradient to the input image."""
    from stylize._tf import tf
    from stylize.device import CPU, session_config
    from stylize.vgg import WeightVariables, build_vgg

    with tf.Graph().as_default() as graph:
        image = tf.Variable(np.random.default_rng(0).normal(0, 50, shape).astype(np.float32),
                            use_resource=True)  # fmt: skip
        kernels = ConstantKernels if constants else WeightVariables
        variables = kernels(weights, settings.deepest_layer, tf.as_dtype(settings.precision))
        net = build_vgg(weights, image, settings.pooling, settings.deepest_layer, variables)
        layers = [activation_layer(name) for name in settings.layers_used]
        loss = tf.add_n([tf.reduce_sum(tf.cast(net[name], tf.float32)) for name in layers])
        (gradient,) = tf.gradients(loss, [image])
    with tf.Session(graph=graph, config=session_config(CPU)) as session:
        session.run(image.initializer)
        if not constants:
            session.run(variables.initializer, variables.feed)
        yield (lambda: session.run(loss.op)), (lambda: session.run(gradient.op))


def time_plain_pass(weights, settings, shape, repeats: int, warmup: int,
                    constants: bool = False) -> dict:  # fmt: skip
    """Forward and forward-plus-backward through plain_pass (``constants`` as there)."""
    with plain_pass(weights, settings, shape, constants) as (forward_pass, step_pass):
        forward, forwards = median_seconds(forward_pass, repeats, warmup)
        step, samples = median_seconds(step_pass, repeats, warmup)
    return {"forward_seconds": forward, "forward_samples": forwards, "step_seconds": step,
            "step_samples": samples}  # fmt: skip


def constant_step(weights, settings, shape, repeats: int, warmup: int) -> dict:
    """``step`` with the kernels as constants, as ``constant_step_seconds`` and samples."""
    timed = time_plain_pass(weights, settings, shape, repeats, warmup, constants=True)
    return {"constant_step_seconds": timed["step_seconds"],
            "constant_step_samples": timed["step_samples"]}  # fmt: skip


def time_j_gradient(weights, settings, shape, repeats: int, warmup: int) -> dict:
    """stylize's J and gradient for a fed image, targets from random images."""
    from stylize.device import CPU
    from stylize.optimize import TransferGraph

    rng = np.random.default_rng(1)
    _, height, width, _ = shape
    graph = TransferGraph(weights, settings, CPU)
    try:
        content, style, image = (rng.normal(0, 50, shape).astype(np.float32) for _ in range(3))
        graph.set_targets(graph.content_features(content), graph.style_grams(style))
        seconds, samples = median_seconds(lambda: graph.value_and_gradient(image), repeats, warmup)
    finally:
        graph.close()
    return {"j_gradient_seconds": seconds, "j_gradient_samples": samples}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--size", default="400x300", help="WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"),
                        help="of the VGG layers, as stylize run --precision")  # fmt: skip
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    # stylize's defaults, the notebook's layers and weights, at the precision asked for
    settings = Settings(precision=args.precision)
    weights = load_vgg19(args.weights, settings.deepest_layer)
    shape = (1, height, width, 3)
    result = {
        "width": width,
        "height": height,
        **work_counts(weights, settings, width, height),
        "repeats": args.repeats,
        "precision": args.precision,
        **time_plain_pass(weights, settings, shape, args.repeats, args.warmup),
        **constant_step(weights, settings, shape, args.repeats, args.warmup),
        **time_j_gradient(weights, settings, shape, args.repeats, args.warmup),
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
