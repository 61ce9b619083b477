"""VGG-19 on one tile of any size at a time, fed rather than assigned, with the two passes of
the tiled costs: the core's Gram sums and content distances, and the gradient to the tile's
pixels of a cost that is linear in the Grams (see stylize.tiled for why that is exact)."""

from __future__ import annotations

import numpy as np

from stylize import costs, memory
from stylize._tf import Session, tf
from stylize.config import Settings
from stylize.device import session_config
from stylize.layers import activation_layer
from stylize.optimize import initialize
from stylize.signals import held
from stylize.tiles import Reach, Tile, layer_strides, network_reach
from stylize.vgg import WeightVariables, build_vgg
from stylize.weights import VggWeights


def _core(activation, box, stride: int):
    """The core of a (1, h, w, n_C) activation: ``box`` (top, bottom, left, right) in tile
    pixels, mapped to the layer's grid (the far sides rounded up, as in Tile.core_box)."""
    top, left = box[0] // stride, box[2] // stride
    bottom, right = (box[1] + stride - 1) // stride, (box[3] + stride - 1) // stride
    return activation[:, top:bottom, left:right, :]


class TileNet:
    """One graph and session for every tile of every size: the weights are held once.

    ``regions`` > 0 adds, per style layer and region k, the guided Gram sum under a fed
    core mask (1, h, w, 1) at the layer's resolution. Keys of Gram sums are the layer name
    (plain) or (name, k) (guided)."""

    def __init__(self, weights: VggWeights, settings: Settings, device: str, regions: int = 0):
        self.settings, self.regions = settings, regions
        self.reach: Reach = network_reach(weights.layers, settings.deepest_layer)
        self.strides = {name: layer_strides(weights.layers)[activation_layer(name)]
                        for name in settings.layers_used}  # fmt: skip
        self.graph = tf.Graph()
        with held(), self.graph.as_default(), tf.device(device):  # held: see TransferGraph
            self.image = tf.placeholder(tf.float32, (1, None, None, 3), name="tile")
            self.box = tf.placeholder(tf.int32, (4,), name="core_box")
            self.weights = WeightVariables(weights, settings.deepest_layer,
                                           tf.as_dtype(settings.precision))  # fmt: skip
            net = build_vgg(weights, self.image, settings.pooling, settings.deepest_layer,
                            self.weights)  # fmt: skip
            self.cores = {name: self._core_of(net, name) for name in settings.layers_used}
            self.content_cores = {name: tf.cast(self.cores[name], tf.float32)  # float32 costs
                                  for name, _ in settings.content_layers}  # fmt: skip
            self._build_grams()
            self._build_gradient()
        self.graph.finalize()
        self.session = Session(graph=self.graph, config=session_config(device))
        initialize(self.session, self.weights.initializer, self.weights)

    def _core_of(self, net, name: str):
        """The layer's core in the network's dtype: Gram sums take it as it is (bfloat16
        products, float32 sums, as optimize.FeatureNet's), the content cost casts."""
        return _core(net[activation_layer(name)], self.box, self.strides[name])

    def _build_grams(self) -> None:
        style = [name for name, _ in self.settings.style_layers]
        self.plain_grams = {name: costs.gram_sum(self.cores[name]) for name in style}
        self.masks, self.grams = {}, {}
        for name in style:
            if not self.regions:
                self.grams[name] = self.plain_grams[name]
            for k in range(self.regions):
                self.masks[name, k] = tf.placeholder(tf.float32, (1, None, None, 1))
                self.grams[name, k] = costs.gram_sum(self.cores[name], self.masks[name, k])

    def _build_gradient(self) -> None:
        """Pass 2: d/dtile of sum_key <W_key, G_key(tile)> + sum_l s_l |a_l - t_l|^2, the W
        (dJ/dG, fixed for the iteration), targets t and scales s fed."""
        self.gram_weights = {key: tf.placeholder(tf.float32, gram.shape)
                             for key, gram in self.grams.items()}  # fmt: skip
        self.content_targets, self.content_scales, self.distances = {}, {}, {}
        for name, _ in self.settings.content_layers:
            core = self.content_cores[name]
            self.content_targets[name] = tf.placeholder(tf.float32, (1, None, None, core.shape[-1]))
            self.content_scales[name] = tf.placeholder(tf.float32, ())
            self.distances[name] = costs.squared_distance(core, self.content_targets[name])
        linear = [tf.reduce_sum(self.gram_weights[key] * gram) for key, gram in self.grams.items()]
        linear += [self.content_scales[n] * d for n, d in self.distances.items()]
        (self.gradient,) = tf.gradients(tf.add_n(linear), [self.image])

    def feed(self, image: np.ndarray, tile: Tile) -> dict:
        """The feeds of the tile's window of a (1, H, W, 3) image and its core box."""
        rows, columns = tile.window
        box = np.asarray(tile.core_box(1), np.int32)  # in the tile's pixels
        return {self.image: image[:, rows, columns, :], self.box: box}

    def run(self, fetches, feeds: dict):
        return self.session.run(fetches, feeds)

    def close(self) -> None:
        self.session.close()
        memory.release_free_memory()
