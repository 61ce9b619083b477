"""The reference for the benchmark: the classic TF1 style-transfer notebook, written again.

This script re-implements the graph and the loop of the Gatys notebook that stylize grew
from, as that notebook builds them, so that stylize can be timed against it on the same
machine. It deliberately imports nothing from the stylize package.

What it keeps from the notebook:

* ``scipy.io.loadmat`` of the whole file (fully connected layers included), and the whole
  VGG-19 built up to avgpool5, each layer ``relu(conv2d(x, W, SAME) + b)``, every pooling
  layer a 2x2 average pool with stride 2;
* the input as ``tf.Variable(np.zeros((1, H, W, 3)), dtype='float32')`` (a TF1 ref variable);
* the hard-coded mean pixel [123.68, 116.779, 103.939];
* a_C and a_S computed by assigning each image to the input and running the layer, then
  frozen into the graph as NumPy constants;
* the costs as the notebook writes them (unrolled activations, G = A A^T, the layer style
  cost divided by 4 n_C^2 (n_H n_W)^2, five style layers at 0.2, J = 10 J_content + 40 J_style);
* the start image uniform(-20, 20) * 0.6 + content * 0.4, and
  ``tf.train.AdamOptimizer(2.0).minimize(J)`` run one ``sess.run`` per iteration.

Where it differs, on purpose:

* layer fields are read by name (``layer['weights']``) where the notebook indexes them by
  position (``[0][0][2]``); for the new MatConvNet layout the two are the same fields;
* J is fetched in the same ``sess.run`` as the training step on every iteration (the
  notebook printed the costs every 20 iterations), so that the cost curve is known; the
  value fetched is J of the image before that step's update;
* nothing is written to disk; the result is one JSON object on stdout.

Usage::

    python benchmarks/reference.py --weights W.mat --content C.png --style S.png \
        --iterations 200 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import imageio.v2 as imageio  # noqa: E402
import numpy as np  # noqa: E402
import scipy.io  # noqa: E402

MEANS = np.array([123.68, 116.779, 103.939]).reshape((1, 1, 1, 3))
NOISE_RATIO = 0.6
CONTENT_LAYER = "conv4_2"
STYLE_LAYERS = [("conv1_1", 0.2), ("conv2_1", 0.2), ("conv3_1", 0.2), ("conv4_1", 0.2),
                ("conv5_1", 0.2)]  # fmt: skip
ALPHA, BETA, LEARNING_RATE = 10, 40, 2.0

# The layers of VGG-19 up to avgpool5, with their index in MatConvNet's 43-layer list.
_BLOCK_CONVS = (2, 2, 4, 4, 4)


def import_tf():
    """TensorFlow in TF1 mode, as the notebook ran it."""
    import tensorflow.compat.v1 as tf

    tf.disable_v2_behavior()
    tf.logging.set_verbosity(tf.logging.ERROR)
    return tf


def vgg_layer_weights(vgg_layers, index: int, expected_name: str):
    """Kernel and bias of layer ``index`` (0-based), checking its name as the notebook does."""
    layer = vgg_layers[0][index][0][0]
    name = layer["name"][0]
    assert name == expected_name, f"layer {index} is {name!r}, expected {expected_name!r}"
    weights = layer["weights"][0]
    return weights[0], weights[1]


def load_vgg_model(tf, path: str, height: int, width: int) -> dict:
    """The whole VGG-19 feature stack to avgpool5 on a zero-initialised input variable."""
    vgg_layers = scipy.io.loadmat(path)["layers"]
    graph = {"input": tf.Variable(np.zeros((1, height, width, 3)), dtype="float32")}
    previous, index = graph["input"], 0
    for block, convs in enumerate(_BLOCK_CONVS, start=1):
        for conv in range(1, convs + 1):
            name = f"conv{block}_{conv}"
            kernel, bias = vgg_layer_weights(vgg_layers, index, name)
            kernel = tf.constant(kernel)
            bias = tf.constant(np.reshape(bias, bias.size))
            graph[name] = tf.nn.relu(
                tf.nn.conv2d(previous, filter=kernel, strides=[1, 1, 1, 1], padding="SAME") + bias
            )
            previous, index = graph[name], index + 2  # conv and its relu
        graph[f"avgpool{block}"] = tf.nn.avg_pool(
            previous, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME"
        )
        previous, index = graph[f"avgpool{block}"], index + 1
    return graph


def compute_content_cost(tf, a_C, a_G):
    """sum((a_C - a_G)^2) / (4 n_H n_W n_C) over activations unrolled to (n_H n_W, n_C)."""
    m, n_H, n_W, n_C = a_G.get_shape().as_list()
    a_C_unrolled = tf.reshape(a_C, [m, n_H * n_W, n_C])
    a_G_unrolled = tf.reshape(a_G, [m, n_H * n_W, n_C])
    return tf.reduce_sum(tf.square(tf.subtract(a_C_unrolled, a_G_unrolled))) / (4 * n_H * n_W * n_C)


def gram_matrix(tf, A):
    """G = A A^T for A of shape (n_C, n_H n_W)."""
    return tf.matmul(A, tf.transpose(A))


def compute_layer_style_cost(tf, a_S, a_G):
    """sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2) for one layer."""
    m, n_H, n_W, n_C = a_G.get_shape().as_list()
    a_S = tf.transpose(tf.reshape(a_S, [n_H * n_W, n_C]))
    a_G = tf.transpose(tf.reshape(a_G, [n_H * n_W, n_C]))
    GS, GG = gram_matrix(tf, a_S), gram_matrix(tf, a_G)
    return tf.reduce_sum(tf.square(tf.subtract(GS, GG))) / (4 * n_C**2 * (n_H * n_W) ** 2)


def compute_style_cost(tf, sess, model: dict):
    """Weighted sum of the style layers' costs; the style image must be in the input."""
    J_style = 0
    for layer_name, coeff in STYLE_LAYERS:
        out = model[layer_name]
        a_S = sess.run(out)  # evaluated now, a constant in the graph from here on
        a_G = out  # still a tensor: the generated image's activation
        J_style += coeff * compute_layer_style_cost(tf, a_S, a_G)
    return J_style


def total_cost(J_content, J_style, alpha=ALPHA, beta=BETA):
    return alpha * J_content + beta * J_style


def reshape_and_normalize_image(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) image -> (1, H, W, 3) with the mean pixel subtracted."""
    return np.reshape(image, ((1,) + image.shape)) - MEANS


def generate_noise_image(content_image: np.ndarray, noise_ratio: float = NOISE_RATIO):
    """Uniform(-20, 20) noise blended with the content image."""
    noise_image = np.random.uniform(-20, 20, content_image.shape).astype("float32")
    return noise_image * noise_ratio + content_image * (1 - noise_ratio)


def read_image(path: str) -> np.ndarray:
    image = imageio.imread(path)
    if image.ndim != 3 or image.shape[2] < 3:
        raise SystemExit(f"{path}: expected an RGB image, got shape {image.shape}")
    return image[:, :, :3]


def build(tf, args) -> tuple:
    """Session, model, costs, train step and start image; the notebook's set-up cells."""
    content_image = reshape_and_normalize_image(read_image(args.content))
    style_image = reshape_and_normalize_image(read_image(args.style))
    if content_image.shape != style_image.shape:
        raise SystemExit("content and style images must have the same size, as in the notebook")
    _, height, width, _ = content_image.shape
    np.random.seed(args.seed)
    generated_image = generate_noise_image(content_image)
    sess = tf.Session()
    model = load_vgg_model(tf, args.weights, height, width)
    sess.run(model["input"].assign(content_image))
    out = model[CONTENT_LAYER]
    a_C = sess.run(out)
    a_G = out
    J_content = compute_content_cost(tf, a_C, a_G)
    sess.run(model["input"].assign(style_image))
    J_style = compute_style_cost(tf, sess, model)
    J = total_cost(J_content, J_style)
    train_step = tf.train.AdamOptimizer(LEARNING_RATE).minimize(J)
    sess.run(tf.global_variables_initializer())
    sess.run(model["input"].assign(generated_image))
    return sess, model, (J, J_content, J_style), train_step, (width, height)


def model_nn(sess, model, costs, train_step, iterations: int) -> list[dict]:
    """The training loop; one record per iteration, with cumulative seconds."""
    J = costs[0]
    history, began = [], time.perf_counter()
    for i in range(iterations):
        _, Jt = sess.run([train_step, J])
        sess.run(model["input"])  # the notebook copies the image out after every step
        history.append({"iteration": i + 1, "seconds": time.perf_counter() - began,
                        "J": float(Jt)})  # fmt: skip
    return history


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="VGG-19 .mat (new MatConvNet layout)")
    parser.add_argument("--content", required=True, help="content image, W x H")
    parser.add_argument("--style", required=True, help="style image, the same size")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="np.random.seed for the noise")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    tf = import_tf()
    import_seconds = time.perf_counter() - began
    began = time.perf_counter()
    sess, model, costs, train_step, (width, height) = build(tf, args)
    setup_seconds = time.perf_counter() - began
    history = model_nn(sess, model, costs, train_step, args.iterations)
    J, J_content, J_style = (float(v) for v in sess.run(list(costs)))
    seconds = history[-1]["seconds"] if history else 0.0
    summary = {
        "width": width,
        "height": height,
        "iterations": args.iterations,
        "seconds": seconds,
        "seconds_per_iteration": seconds / max(1, args.iterations),
        "setup_seconds": setup_seconds,
        "import_seconds": import_seconds,
        "J": J,
        "J_content": J_content,
        "J_style": J_style,
        "history": history,
    }
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
