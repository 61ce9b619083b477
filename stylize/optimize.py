"""Graphs and sessions: VGG-19 on an assignable image variable, the costs, and the Adam and
L-BFGS loops, which yield one record per iteration."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import threadpoolctl

from stylize import costs, memory
from stylize._tf import Session, tf
from stylize.config import Settings
from stylize.device import session_config
from stylize.layers import activation_layer
from stylize.lbfgsb import BoundedLbfgs
from stylize.signals import held
from stylize.vgg import WeightVariables, build_vgg
from stylize.weights import VggWeights


@dataclass(frozen=True)
class Costs:
    """J = alpha * J_content + beta * J_style (+ tv_weight * TV) (+ temporal_weight *
    J_temporal, in a graph for video frames) for one image."""

    J: float
    J_content: float
    J_style: float
    J_temporal: float = 0.0


@dataclass(frozen=True)
class Step:
    """One evaluation inside a loop: the costs of ``image``, the (1, H, W, 3) preprocessed
    image they were computed for."""

    costs: Costs
    image: np.ndarray = field(repr=False)


def noise_image(base: np.ndarray, noise_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """The classic start image: noise_ratio * uniform(-20, 20) + (1 - noise_ratio) * base.

    ``base`` is a preprocessed (1, H, W, 3) image; the result has its shape, float32.
    """
    noise = rng.uniform(-20.0, 20.0, base.shape).astype(np.float32)
    return (noise_ratio * noise + (1.0 - noise_ratio) * base).astype(np.float32)


def _variable(shape: tuple[int | None, ...], name: str | None = None, trainable: bool = True):
    """A float32 resource variable of ``shape``, in which None is a size that each
    assignment may choose (the variable then starts with size 1 there)."""
    start = tf.zeros([1 if size is None else size for size in shape])
    return tf.Variable(start, trainable=trainable, name=name, use_resource=True,
                       shape=tf.TensorShape(shape))  # fmt: skip


class FeatureNet:
    """VGG-19 on an assignable (1, H, W, 3) variable in the current graph, exposing the
    content layers' activations and the style layers' normalized Grams (G / (n_H n_W)).
    A conv layer's name reads its output after the ReLU, as the classic notebook does.
    H and W may be None in ``shape``: the net then takes images of any size."""

    def __init__(self, weights: VggWeights, shape: tuple[int | None, ...], settings: Settings):
        self.image = _variable(shape, name="input")
        self._feed = tf.placeholder(tf.float32, shape, name="image_feed")
        self._assign = self.image.assign(self._feed)
        self.weights = WeightVariables(weights, settings.deepest_layer,
                                       tf.as_dtype(settings.precision))  # fmt: skip
        net = build_vgg(weights, self.image, settings.pooling, settings.deepest_layer,
                        self.weights)  # fmt: skip

        def activation(name):  # the content cost and its targets are float32 at any precision
            return tf.cast(net[activation_layer(name)], tf.float32)

        self.activations = {name: activation(name) for name, _ in settings.content_layers}
        # The Grams are computed from the network's own dtype (bfloat16 products on the
        # matrix units, float32 sums) and come out float32, as the style cost is.
        self.style_activations = {name: net[activation_layer(name)]
                                  for name, _ in settings.style_layers}  # fmt: skip
        self.grams = {name: costs.normalized_gram(a) for name, a in self.style_activations.items()}

    def assign(self, session, image: np.ndarray) -> None:
        """Put a preprocessed (1, H, W, 3) image into the input variable."""
        session.run(self._assign, {self._feed: image})

    def style_grams(self, session, image: np.ndarray) -> dict[str, np.ndarray]:
        """Normalized Grams (n_C, n_C) of the style layers for ``image``."""
        self.assign(session, image)
        return session.run(self.grams)


def initialize(session, init, weights: WeightVariables) -> None:
    """Run ``init``, which copies the weights into the session's variables, then hand back
    the pages of weights mapped from the cache (see stylize.memory): the session holds its
    own copy, and the page cache keeps them for the next graph."""
    session.run(init, weights.feed)
    memory.release_pages(weights.feed.values())


def style_grams_at_size(weights: VggWeights, image: np.ndarray, settings: Settings,
                        device: str) -> dict[str, np.ndarray]:  # fmt: skip
    """Normalized style Grams of a preprocessed image of any size, in a graph of its own."""
    with held(), tf.Graph().as_default() as graph, tf.device(device):  # held: see TransferGraph
        net = FeatureNet(weights, image.shape, settings)
        init = tf.global_variables_initializer()
    with Session(graph=graph, config=session_config(device)) as session:
        initialize(session, init, net.weights)
        return net.style_grams(session, image)


class TransferGraph:
    """The feature net on the image variable, target variables, J, its gradient and a
    projected Adam step, for images of any size: the variables take the size of what is
    assigned to them. Targets are assigned per job and per size, so the finalized graph
    serves every image pair and every scale of a run, and pays for its building, its copy
    of the weights and TensorFlow's first runs once.

    ``regions`` > 0 builds spatial control for that many styles: each style layer's cost is
    the sum over styles k of K * w_k times the cost between style k's own Gram and the
    generated image's guided Gram under mask k (costs.guided_gram), so equal weights give
    every region a one-style run's strength. ``keep_mask`` adds a (1, H, W, 1) variable
    that scales the gradient: where it is 0 the image cannot change. ``temporal_weight`` > 0
    adds temporal_weight * costs.temporal_cost against a warped previous frame and its
    consistency mask, two more per-job variables (a video frame's)."""

    def __init__(self, weights: VggWeights, settings: Settings, device: str, regions: int = 0,
                 keep_mask: bool = False, temporal_weight: float = 0.0):  # fmt: skip
        self.settings, self.regions, self.keep_mask = settings, regions, keep_mask
        self.temporal_weight = temporal_weight
        self.low = -weights.mean_pixel.reshape(1, 1, 1, 3).astype(np.float32)
        self.graph = tf.Graph()
        # held: a signal raised inside TensorFlow's Python code can leave a lock taken
        # (stylize.signals); here it waits the second or so until the graph is built.
        with held(), self.graph.as_default(), tf.device(device):
            self.net = FeatureNet(weights, (1, None, None, 3), settings)
            self._build_targets()
            self._build_costs()
            self._build_adam()
            init = tf.global_variables_initializer()
        # Both targets fetch the same tensors, so TensorFlow builds one executor for them,
        # and the costs alone are fetched with the gradient (see evaluate): where oneDNN is
        # told the kernels are frozen (see _tf) each executor keeps its own reordered copy,
        # ~90 MB at any size.
        self._forward = {"content": self.net.activations, "grams": self.net.grams}
        self.graph.finalize()  # no op can be created inside the loops
        self.session = Session(graph=self.graph, config=session_config(device))
        initialize(self.session, init, self.net.weights)

    def _target_shapes(self) -> dict[str, tuple]:
        """Every per-job variable: content activations, style Grams (per region: Grams and
        masks at the layer's resolution), and the keep mask; None for a height or width."""
        shapes = {name: tuple(a.shape.as_list()) for name, a in self.net.activations.items()}
        for name, activation in self.net.style_activations.items():
            gram = tuple(self.net.grams[name].shape.as_list())
            if not self.regions:
                shapes[f"gram:{name}"] = gram
            for k in range(self.regions):
                shapes[f"gram:{name}:{k}"] = gram
                shapes[f"mask:{name}:{k}"] = tuple(activation.shape.as_list()[1:3])
        if self.keep_mask:
            shapes["keep"] = (1, None, None, 1)
        if self.temporal_weight:
            shapes["warped"], shapes["consistency"] = (1, None, None, 3), (1, None, None, 1)
        return shapes

    def _build_targets(self) -> None:
        self._target_feeds, self._targets, assigns = {}, {}, []
        for key, shape in self._target_shapes().items():
            feed = tf.placeholder(tf.float32, shape)
            target = _variable(shape, trainable=False)
            self._target_feeds[key], self._targets[key] = feed, target
            assigns.append(target.assign(feed))
        self._assign_targets = tf.group(*assigns)

    def _build_costs(self) -> None:
        s = self.settings
        distances = {name: costs.squared_distance(self._targets[name], self.net.activations[name])
                     for name, _ in s.content_layers}  # fmt: skip
        self.j_content = tf.add_n([
            weight * costs.content_cost_of(distances[name], self.net.activations[name])
            for name, weight in s.content_layers
        ])  # fmt: skip
        self.j_style = costs.style_cost(
            (weight, self._layer_style_cost(name)) for name, weight in s.style_layers
        )
        self.j_total = self._weighted_costs(distances)
        if s.tv_weight:
            self.j_total += s.tv_weight * costs.total_variation(self.net.image)
        parts = [self.j_content, self.j_style]
        if self.temporal_weight:
            j_temporal = costs.temporal_cost(self.net.image, self._targets["warped"],
                                             self._targets["consistency"])  # fmt: skip
            self.j_total += self.temporal_weight * j_temporal
            parts.append(j_temporal)
        self._costs = [self.j_total, *parts]
        (self._gradient,) = tf.gradients(self.j_total, [self.net.image])
        if self.keep_mask:
            self._gradient = self._gradient * self._targets["keep"]

    def _weighted_costs(self, distances: dict):
        """alpha J_content + beta J_style, or with a content ratio R the paper's balance:
        R beta L_content + beta J_style, L_content Gatys et al.'s sum/2 of each content
        layer's squared distance (``distances``, by layer name)."""
        s = self.settings
        if s.content_ratio is None:
            return costs.total_cost(self.j_content, self.j_style, s.alpha, s.beta)
        paper_content = tf.add_n([weight * costs.paper_content_cost(distances[name])
                                  for name, weight in s.content_layers])  # fmt: skip
        return costs.total_cost(paper_content, self.j_style, s.content_ratio * s.beta, s.beta)

    def _layer_style_cost(self, name: str):
        if not self.regions:
            return costs.gram_style_cost(self._targets[f"gram:{name}"], self.net.grams[name])
        activation = self.net.style_activations[name]
        scale = [self.regions * w for w in self.settings.blend_weights(self.regions)]
        return tf.add_n([
            scale[k] * costs.gram_style_cost(
                self._targets[f"gram:{name}:{k}"],
                costs.guided_gram(activation, self._targets[f"mask:{name}:{k}"]),
            )
            for k in range(self.regions)
        ])  # fmt: skip

    def _build_adam(self) -> None:
        # The step is a variable set at each start, so each scale may have its own.
        rate = tf.Variable(np.float32(self.settings.learning_rate), trainable=False)
        self._rate_feed = tf.placeholder(tf.float32, (), name="learning_rate")
        optimizer = tf.train.AdamOptimizer(rate)
        image = self.net.image
        self._snapshot = tf.identity(image.read_value())
        with tf.control_dependencies([self._snapshot]):
            train = optimizer.apply_gradients([(self._gradient, image)])
        with tf.control_dependencies([train]):
            # Projected Adam: pixels stay within [0, 255] once the mean is added back.
            clipped = tf.clip_by_value(image.read_value(), self.low, self.low + 255.0)
            self._adam_step = image.assign(clipped)
        self._reset_adam = [tf.variables_initializer(optimizer.variables()),
                            rate.assign(self._rate_feed)]  # fmt: skip

    def _forward_pass(self, image: np.ndarray) -> dict:
        self.set_image(image)
        return self.session.run(self._forward)

    def content_features(self, content: np.ndarray) -> dict[str, np.ndarray]:
        """Content-layer activations of a preprocessed image of this graph's size."""
        return self._forward_pass(content)["content"]

    def style_grams(self, style: np.ndarray) -> dict[str, np.ndarray]:
        """Normalized style Grams of a preprocessed image of this graph's size."""
        return self._forward_pass(style)["grams"]

    def set_targets(self, content: dict[str, np.ndarray], grams: dict[str, np.ndarray],
                    regions: Sequence[tuple[dict, dict]] = (),
                    keep: np.ndarray | None = None,
                    temporal: tuple[np.ndarray, np.ndarray] | None = None) -> None:  # fmt: skip
        """Store the content activations and style Grams the costs compare against; with
        regions, one (Grams, layer masks) pair per style instead of ``grams``, the keep
        mask (1, H, W, 1) when the graph has one, and in a temporal graph the warped previous
        frame (1, H, W, 3, preprocessed) and its consistency (1, H, W, 1) (None: a first
        frame, no temporal term)."""
        feeds = {self._target_feeds[name]: value for name, value in content.items()}
        feeds.update({self._target_feeds[f"gram:{k}"]: v for k, v in grams.items()})
        for k, (region_grams, region_masks) in enumerate(regions):
            for name in self.net.style_activations:
                feeds[self._target_feeds[f"gram:{name}:{k}"]] = region_grams[name]
                feeds[self._target_feeds[f"mask:{name}:{k}"]] = region_masks[name]
        if self.keep_mask:
            feeds[self._target_feeds["keep"]] = keep
        if self.temporal_weight:  # zero consistency, of any size, leaves the term out
            warped, consistency = temporal or (np.zeros((1, 1, 1, 3)), np.zeros((1, 1, 1, 1)))
            feeds[self._target_feeds["warped"]] = warped
            feeds[self._target_feeds["consistency"]] = consistency
        self.session.run(self._assign_targets, feeds)

    def set_image(self, image: np.ndarray) -> None:
        """Assign a preprocessed (1, H, W, 3) image to the input variable."""
        self.net.assign(self.session, image)

    def evaluate(self, image: np.ndarray) -> Costs:
        """Costs of a preprocessed (1, H, W, 3) image of the targets' size. Computed with the
        gradient, which is not needed: one more executor would cost more memory (see
        __init__) than the backward pass costs time in the few evaluations of a run."""
        return self.value_and_gradient(image)[0]

    def current(self) -> np.ndarray:
        """The input variable's value, (1, H, W, 3) float32 preprocessed."""
        return self.session.run(self.net.image)

    def adam(self, start: np.ndarray, iterations: int,
             learning_rate: float | None = None) -> Iterator[Step]:  # fmt: skip
        """Adam from a preprocessed start image, with fresh moments and a step of
        ``learning_rate`` (None: the settings'); each Step holds the image before the
        update."""
        rate = self.settings.learning_rate if learning_rate is None else learning_rate
        self.set_image(start)  # first: the moments take the image's size
        self.session.run(self._reset_adam, {self._rate_feed: rate})
        fetches = [self._adam_step, self._snapshot, *self._costs]
        for _ in range(iterations):
            _, image, *values = self.session.run(fetches)
            yield Step(Costs(*map(float, values)), image)

    def lbfgs(self, start: np.ndarray, iterations: int) -> Iterator[Step]:
        """L-BFGS-B over J for ``iterations`` evaluations, its history kept for the whole
        run; pixels are bounded to [0, 255]. Each Step is one evaluation (line-search
        trials included)."""
        return lbfgs_steps(self, start, iterations)

    def value_and_gradient(self, image: np.ndarray) -> tuple[Costs, np.ndarray]:
        """Costs and dJ/dimage, (1, H, W, 3) float32, of a preprocessed image."""
        self.set_image(image)
        *values, gradient = self.session.run([*self._costs, self._gradient])
        return Costs(*map(float, values)), gradient

    def close(self) -> None:
        self.session.close()


def lbfgs_steps(graph, start: np.ndarray, iterations: int, memory: int = 10) -> Iterator[Step]:
    """L-BFGS-B (stylize.lbfgsb, float32, ``memory`` correction pairs) on a graph with
    ``value_and_gradient(image)`` and ``low`` (a TransferGraph or a tiled one), as
    TransferGraph.lbfgs describes."""
    # NumPy's BLAS threads spin-wait for a while after each call, and two of them slowed
    # the TensorFlow evaluation that follows by 40 ms (0.63 -> 0.67 s, Intel, 400x300), for
    # no gain on products this small. threadpoolctl lets only one Python thread control
    # OpenBLAS: this generator runs in the caller's.
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        yield from _bounded_lbfgs(graph, start, iterations, memory)


def _bounded_lbfgs(graph, start: np.ndarray, iterations: int, memory: int) -> Iterator[Step]:
    low = np.broadcast_to(np.asarray(graph.low, np.float32), start.shape).ravel()
    x0 = start.astype(np.float32).ravel()
    optimizer = BoundedLbfgs(x0, low, low + np.float32(255.0), memory=memory)
    for _ in range(iterations):
        if (x := optimizer.ask()) is None:
            return
        image = x.reshape(start.shape)
        costs_, gradient = graph.value_and_gradient(image)
        yield Step(costs_, image)
        optimizer.tell(costs_.J, gradient)
