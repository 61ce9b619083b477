"""The optimization: one graph and session per output size, and loops yielding progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from stylize import costs
from stylize._tf import tf
from stylize.config import Settings
from stylize.device import session_config
from stylize.vgg import build_vgg
from stylize.weights import VggWeights


@dataclass(frozen=True)
class Costs:
    """J = alpha * J_content + beta * J_style for one image, as Python floats."""

    J: float
    J_content: float
    J_style: float


@dataclass(frozen=True)
class Progress:
    """One finished iteration: its number (1-based), the costs of the image it started from,
    and the seconds since the loop began."""

    iteration: int
    iterations: int
    costs: Costs
    elapsed: float


def preprocess(image: np.ndarray, mean_pixel: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (1, H, W, 3) float32 with the mean pixel subtracted."""
    return (image.astype(np.float32) - mean_pixel)[np.newaxis]


def postprocess(generated: np.ndarray, mean_pixel: np.ndarray) -> np.ndarray:
    """(1, H, W, 3) float32 network input -> (H, W, 3) uint8 RGB, clipped and rounded."""
    return np.clip(np.rint(generated[0] + mean_pixel), 0, 255).astype(np.uint8)


def noise_image(content: np.ndarray, noise_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """The classic start image: noise_ratio * uniform(-20, 20) + (1 - noise_ratio) * content.

    ``content`` is the preprocessed (1, H, W, 3) content image; the result has its shape.
    """
    noise = rng.uniform(-20.0, 20.0, content.shape).astype(np.float32)
    return noise_ratio * noise + (1.0 - noise_ratio) * content


class TransferGraph:
    """VGG-19 on an assignable (1, H, W, 3) image variable, with costs and an Adam step.

    Content and style targets live in non-trainable variables, so one graph serves every
    image pair of its size: ``set_targets`` assigns each image to the input variable and
    evaluates the layers once, as the classic notebook does.
    """

    def __init__(
        self, weights: VggWeights, height: int, width: int, settings: Settings, device: str
    ):
        self.settings = settings
        self.mean_pixel = weights.mean_pixel
        self.shape = (1, height, width, 3)
        self.graph = tf.Graph()
        with self.graph.as_default(), tf.device(device):
            self._build(weights)
        self.graph.finalize()  # no op may be created inside the loop
        self.session = tf.Session(graph=self.graph, config=session_config(device))
        self.session.run(self._init)

    def _build(self, weights: VggWeights) -> None:
        s = self.settings
        self.image = tf.Variable(np.zeros(self.shape, np.float32), name="input", use_resource=True)
        self._feed = tf.placeholder(tf.float32, self.shape, name="image_feed")
        self._assign_image = self.image.assign(self._feed)
        deepest = max(s.layers_used, key=weights.layer_names.index)
        net = build_vgg(weights, self.image, s.pooling, deepest)
        self._build_costs(net)
        self._build_adam()
        self._init = tf.global_variables_initializer()

    def _target(self, tensor, name: str):
        return tf.Variable(tf.zeros(tensor.shape), trainable=False, name=name, use_resource=True)

    def _build_costs(self, net) -> None:
        s = self.settings
        generated = net[s.content_layer]
        content_target = self._target(generated, "content_target")
        assigns = [content_target.assign(generated)]
        self._assign_content = tf.group(*assigns)
        style_terms, style_assigns = [], []
        for name, weight in s.style_layers:
            gram = costs.normalized_gram(net[name])
            target = self._target(gram, f"style_target_{name}")
            style_assigns.append(target.assign(gram))
            style_terms.append((weight, costs.gram_style_cost(target, gram)))
        self._assign_style = tf.group(*style_assigns)
        self.j_content = costs.content_cost(content_target, generated)
        self.j_style = costs.style_cost(style_terms)
        self.j_total = costs.total_cost(self.j_content, self.j_style, s.alpha, s.beta)
        self._costs = [self.j_total, self.j_content, self.j_style]

    def _build_adam(self) -> None:
        optimizer = tf.train.AdamOptimizer(self.settings.learning_rate)
        train = optimizer.minimize(self.j_total, var_list=[self.image])
        low = -self.mean_pixel.reshape(1, 1, 1, 3)
        with tf.control_dependencies([train]):
            # Projected Adam: pixels stay within [0, 255] once the mean is added back.
            clipped = tf.clip_by_value(self.image.read_value(), low, low + 255.0)
            self._adam_step = self.image.assign(clipped)
        self._reset_adam = tf.variables_initializer(optimizer.variables())

    def set_image(self, generated: np.ndarray) -> None:
        """Assign a (1, H, W, 3) preprocessed image to the input variable."""
        self.session.run(self._assign_image, {self._feed: generated})

    def set_targets(self, content: np.ndarray, style: np.ndarray) -> None:
        """Compute the targets from preprocessed (1, H, W, 3) content and style images."""
        self.set_image(content)
        self.session.run(self._assign_content)
        self.set_image(style)
        self.session.run(self._assign_style)

    def evaluate(self) -> Costs:
        """Costs of the image currently in the input variable."""
        return Costs(*(float(v) for v in self.session.run(self._costs)))

    def current(self) -> np.ndarray:
        """The input variable's value, (1, H, W, 3) float32 preprocessed."""
        return self.session.run(self.image)

    def adam(self, start: np.ndarray, iterations: int) -> Iterator[Progress]:
        """Run Adam from a preprocessed start image, yielding a record per iteration."""
        self.session.run(self._reset_adam)
        self.set_image(start)
        began = time.perf_counter()
        fetches = [self._adam_step, *self._costs]
        for iteration in range(1, iterations + 1):
            _, *values = self.session.run(fetches)
            elapsed = time.perf_counter() - began
            yield Progress(iteration, iterations, Costs(*map(float, values)), elapsed)

    def close(self) -> None:
        self.session.close()


@dataclass(frozen=True)
class Result:
    """The finished image (H, W, 3) uint8 and the costs of exactly that image."""

    image: np.ndarray
    costs: Costs
    iterations: int
    seconds: float
    setup_seconds: float
    seed: int
    device: str


class Transfer:
    """One content/style pair end to end: set-up in the constructor, then ``run``, ``finish``.

    ``content`` and ``style`` are (H, W, 3) uint8 images already at the output size.
    ``setup_seconds`` covers graph building and the targets (weights are loaded by the caller).
    """

    def __init__(
        self,
        content: np.ndarray,
        style: np.ndarray,
        weights: VggWeights,
        settings: Settings,
        device: str,
        seed: int,
    ):
        began = time.perf_counter()
        self.settings, self.device, self.seed = settings, device, seed
        self.mean_pixel = weights.mean_pixel
        height, width, _ = content.shape
        self.graph = TransferGraph(weights, height, width, settings, device)
        content_pre = preprocess(content, self.mean_pixel)
        self.graph.set_targets(content_pre, preprocess(style, self.mean_pixel))
        rng = np.random.default_rng(seed)
        self.start = noise_image(content_pre, settings.noise_ratio, rng)
        self.setup_seconds = time.perf_counter() - began
        self.seconds = 0.0
        self.done = 0

    def run(self) -> Iterator[Progress]:
        """Optimize, yielding one Progress record per iteration."""
        for progress in self.graph.adam(self.start, self.settings.iterations):
            self.seconds, self.done = progress.elapsed, progress.iteration
            yield progress

    def image(self) -> np.ndarray:
        """The current image, (H, W, 3) uint8."""
        return postprocess(self.graph.current(), self.mean_pixel)

    def finish(self) -> Result:
        """Round the image to 8 bits, re-evaluate its costs and release the session."""
        image = self.image()
        self.graph.set_image(preprocess(image, self.mean_pixel))
        final = self.graph.evaluate()
        self.graph.close()
        return Result(
            image, final, self.done, self.seconds, self.setup_seconds, self.seed, self.device
        )
