"""J and dJ/dx of an image too large for one pass, computed tile by tile, exactly.

Every term of J is a sum over positions, or a function of such sums:

* content, per layer: sum_p |a_p - t_p|^2 / (4 N n_C), N the whole layer's positions;
* style, per layer: J = sum((G_S - G / N)^2) / (4 n_C^2) with G = sum_p f_p f_p^T, which
  is the sum of the tiles' core Gram sums (costs.gram_sum); a guided Gram (regions) has
  the weights m_p^2 inside the sum and sum_p m_p^2 in place of N.

So a first pass adds up every style layer's G over the tiles. With G known, J_style is
known, and so is dJ/dG = beta lambda (G / N - G_S) / (2 n_C^2 N), which no tile changes
within the iteration. J's gradient is then the sum over tiles of the gradient of the
linear form <dJ/dG, G_tile> plus the tile's content term, each taken with respect to the
tile's whole window (halo included: a core position reads pixels there) and added into the
image's gradient. TV and the temporal term are computed on the whole image (NumPy); both
are cheap next to the network. Only the image, the optimizer's state, the content targets
and the gradient are kept whole; see stylize.memory for what that costs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from stylize.config import Settings
from stylize.optimize import Costs, Step, lbfgs_steps
from stylize.tile_net import TileNet
from stylize.tiles import Tile, tile_grid

# TensorFlow 1's AdamOptimizer defaults, as the untiled graph uses them.
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8

TileCallback = Callable[[str, int, int], None]  # (pass name, tiles done, tiles)


def _positions(height: int, width: int, stride: int) -> int:
    return -(-height // stride) * -(-width // stride)


def tiled_content_features(
    net: TileNet, image: np.ndarray, core: int, on_tile: TileCallback | None = None
) -> dict[str, np.ndarray]:
    """Content-layer activations (1, h_l, w_l, n_C) of a preprocessed (1, H, W, 3) image,
    assembled from the tiles' cores."""
    _, height, width, _ = image.shape
    tiles = tile_grid(width, height, core, net.reach)
    names = [name for name, _ in net.settings.content_layers]
    found = {}
    for index, tile in enumerate(tiles):
        cores = net.run({n: net.content_cores[n] for n in names}, net.feed(image, tile))
        for name, values in cores.items():
            if name not in found:
                stride = net.strides[name]
                shape = (1, -(-height // stride), -(-width // stride), values.shape[-1])
                found[name] = np.zeros(shape, np.float32)
            rows, columns = tile.core_slices(net.strides[name])
            found[name][:, rows, columns, :] = values
        _report(on_tile, "content targets", index, len(tiles))
    return found


def tiled_style_grams(
    net: TileNet, image: np.ndarray, core: int, on_tile: TileCallback | None = None
) -> dict[str, np.ndarray]:
    """Normalized style Grams (n_C, n_C) of a preprocessed (1, H, W, 3) image of any size,
    summed over its tiles and divided by each layer's whole position count."""
    _, height, width, _ = image.shape
    tiles = tile_grid(width, height, core, net.reach)
    sums: dict[str, np.ndarray] = {}
    for index, tile in enumerate(tiles):
        for name, gram in net.run(net.plain_grams, net.feed(image, tile)).items():
            sums[name] = sums.get(name, 0.0) + gram.astype(np.float64)
        _report(on_tile, "style targets", index, len(tiles))
    return {name: (total / _positions(height, width, net.strides[name])).astype(np.float32)
            for name, total in sums.items()}  # fmt: skip


def _report(on_tile: TileCallback | None, name: str, index: int, count: int) -> None:
    if on_tile is not None:
        on_tile(name, index + 1, count)


class TiledGraph:
    """The interface of optimize.TransferGraph for one (width, height), computed on
    ``net`` in tiles with cores of at most ``core`` pixels. Adam runs in NumPy with
    TensorFlow 1's update; L-BFGS is the same L-BFGS-B loop. ``on_tile`` (a TileCallback) is
    told of every tile finished."""

    def __init__(self, net: TileNet, mean_pixel: np.ndarray, height: int, width: int,
                 settings: Settings, core: int, keep_mask: bool = False,
                 temporal_weight: float = 0.0):  # fmt: skip
        self.net, self.settings, self.core = net, settings, core
        self.keep_mask, self.temporal_weight = keep_mask, temporal_weight
        self.shape = (1, height, width, 3)
        self.low = -mean_pixel.reshape(1, 1, 1, 3).astype(np.float32)
        self.tiles: list[Tile] = tile_grid(width, height, core, net.reach)
        self.on_tile: TileCallback | None = None
        self._current: np.ndarray | None = None
        self._style: dict = {}  # Gram key -> (target, positions or mask weight, lambda)
        self._masks: dict = {}  # (layer, k) -> (h_l, w_l) mask
        self._content: dict[str, np.ndarray] = {}
        self._keep: np.ndarray | None = None
        self._temporal: tuple[np.ndarray, np.ndarray] | None = None

    def content_features(self, content: np.ndarray) -> dict[str, np.ndarray]:
        """Content-layer activations of a preprocessed image of this graph's size."""
        return tiled_content_features(self.net, content, self.core, self.on_tile)

    def style_grams(self, style: np.ndarray) -> dict[str, np.ndarray]:
        """Normalized style Grams of a preprocessed image of this graph's size."""
        return tiled_style_grams(self.net, style, self.core, self.on_tile)

    def set_targets(self, content: dict[str, np.ndarray], grams: dict[str, np.ndarray],
                    regions: Sequence[tuple[dict, dict]] = (),
                    keep: np.ndarray | None = None,
                    temporal: tuple[np.ndarray, np.ndarray] | None = None) -> None:  # fmt: skip
        """As TransferGraph.set_targets."""
        _, height, width, _ = self.shape
        self._content, self._keep = content, keep if self.keep_mask else None
        self._temporal = temporal if self.temporal_weight else None
        layers = dict(self.settings.style_layers)
        self._style, self._masks = {}, {}
        if not regions:
            for name, target in grams.items():
                count = _positions(height, width, self.net.strides[name])
                self._style[name] = (target, count, layers[name])
        scale = (
            [len(regions) * w for w in self.settings.blend_weights(len(regions))] if regions else []
        )
        for k, (region_grams, region_masks) in enumerate(regions):
            for name in layers:
                mask = region_masks[name].astype(np.float32)
                self._masks[name, k] = mask
                weight = float(np.sum(np.square(mask, dtype=np.float64)))
                self._style[name, k] = (region_grams[name], weight, layers[name] * scale[k])

    def set_image(self, image: np.ndarray) -> None:
        """Make a preprocessed (1, H, W, 3) image the current one."""
        self._current = image

    def current(self) -> np.ndarray:
        """The current image, (1, H, W, 3) float32 preprocessed (zeros before any)."""
        return np.zeros(self.shape, np.float32) if self._current is None else self._current

    def evaluate(self, image: np.ndarray) -> Costs:
        """Costs of a preprocessed (1, H, W, 3) image: one forward pass over the tiles."""
        self.set_image(image)
        sums, distances = self._gram_pass(image, with_content=True)
        j_style, _ = self._style_costs(sums)
        return self._total(image, self._content_costs(distances), j_style, gradient=None)

    def value_and_gradient(self, image: np.ndarray) -> tuple[Costs, np.ndarray]:
        """Costs and dJ/dimage, (1, H, W, 3) float32, of a preprocessed image."""
        self.set_image(image)
        sums, _ = self._gram_pass(image, with_content=False)
        j_style, gram_weights = self._style_costs(sums)
        gradient = np.zeros(self.shape, np.float32)
        distances = self._gradient_pass(image, gram_weights, gradient)
        costs = self._total(image, self._content_costs(distances), j_style, gradient)
        if self._keep is not None:
            gradient *= self._keep
        return costs, gradient

    def _tile_feeds(self, image: np.ndarray, tile: Tile, with_content: bool) -> dict:
        net = self.net
        feeds = net.feed(image, tile)
        for (name, k), mask in self._masks.items():
            rows, columns = tile.core_slices(net.strides[name])
            feeds[net.masks[name, k]] = mask[None, rows, columns, None]
        if with_content:
            for name, target in self._content.items():
                rows, columns = tile.core_slices(net.strides[name])
                feeds[net.content_targets[name]] = target[:, rows, columns, :]
        return feeds

    def _gram_pass(self, image: np.ndarray, with_content: bool):
        """Pass 1: every Gram sum over the tiles' cores (float64), and with ``with_content``
        the content layers' squared distances to their targets."""
        fetches = {"grams": self.net.grams}
        if with_content:
            fetches["distances"] = self.net.distances
        sums: dict = {}
        distances: dict[str, float] = {}
        for index, tile in enumerate(self.tiles):
            found = self.net.run(fetches, self._tile_feeds(image, tile, with_content))
            for key, gram in found["grams"].items():
                sums[key] = sums.get(key, 0.0) + gram.astype(np.float64)
            for name, value in found.get("distances", {}).items():
                distances[name] = distances.get(name, 0.0) + float(value)
            _report(self.on_tile, "Gram pass", index, len(self.tiles))
        return sums, distances

    def _gradient_pass(self, image: np.ndarray, gram_weights: dict, gradient: np.ndarray):
        """Pass 2: each tile's window gradient added into ``gradient``; returns the content
        layers' squared distances, summed over the tiles."""
        net, s = self.net, self.settings
        fixed = {net.gram_weights[key]: weight for key, weight in gram_weights.items()}
        for name, layer_weight in s.content_layers:
            fixed[net.content_scales[name]] = self._content_factor(name, layer_weight)
        distances: dict[str, float] = {}
        for index, tile in enumerate(self.tiles):
            feeds = {**self._tile_feeds(image, tile, with_content=True), **fixed}
            tile_gradient, found = net.run([net.gradient, net.distances], feeds)
            rows, columns = tile.window
            gradient[:, rows, columns, :] += tile_gradient
            for name, value in found.items():
                distances[name] = distances.get(name, 0.0) + float(value)
            _report(self.on_tile, "gradient pass", index, len(self.tiles))
        return distances

    def _content_factor(self, name: str, layer_weight: float) -> float:
        """A content layer's squared distance's factor in J: alpha w / (4 N n_C), or with a
        content ratio R the paper's R beta w / 2 (stylize.costs)."""
        s = self.settings
        if s.content_ratio is None:
            return s.alpha * layer_weight / self._content_norm(name)
        return s.content_ratio * s.beta * layer_weight / 2.0

    def _content_norm(self, name: str) -> float:
        """4 N n_C of a content layer over the whole image."""
        _, height, width, _ = self.shape
        channels = self._content[name].shape[-1]
        return 4.0 * _positions(height, width, self.net.strides[name]) * channels

    def _content_costs(self, distances: dict[str, float]) -> tuple[float, float]:
        """J_content, and its term in J (alpha J_content without a content ratio)."""
        layers = self.settings.content_layers
        j_content = sum(weight * distances[name] / self._content_norm(name)
                        for name, weight in layers)  # fmt: skip
        if self.settings.content_ratio is None:
            return j_content, self.settings.alpha * j_content
        return j_content, sum(self._content_factor(n, w) * distances[n] for n, w in layers)

    def _style_costs(self, sums: dict) -> tuple[float, dict]:
        """J_style from the whole image's Gram sums, and beta * dJ_style/dG per Gram key:
        for G_G = G / n, J = sum((G_S - G_G)^2) / (4 n_C^2) and dJ/dG = (G_G - G_S) /
        (2 n_C^2 n)."""
        j_style, weights = 0.0, {}
        for key, (target, count, weight) in self._style.items():
            channels = target.shape[0]
            difference = sums[key] / count - target
            j_style += weight * float(np.sum(np.square(difference))) / (4.0 * channels**2)
            scale = self.settings.beta * weight / (2.0 * channels**2 * count)
            weights[key] = (scale * difference).astype(np.float32)
        return j_style, weights

    def _total(self, image: np.ndarray, content: tuple[float, float], j_style: float,
               gradient: np.ndarray | None) -> Costs:  # fmt: skip
        """J from its parts (``content``: J_content and its term in J), adding TV and the
        temporal term (and their gradients into ``gradient`` when given)."""
        s = self.settings
        j_content, content_term = content
        total = content_term + s.beta * j_style
        if s.tv_weight:
            total += s.tv_weight * total_variation(image, gradient, s.tv_weight)
        j_temporal = 0.0
        if self._temporal is not None:
            warped, consistency = self._temporal
            j_temporal = temporal_cost(image, warped, consistency, gradient, self.temporal_weight)
            total += self.temporal_weight * j_temporal
        return Costs(total, j_content, j_style, j_temporal)

    def adam(self, start: np.ndarray, iterations: int,
             learning_rate: float | None = None) -> Iterator[Step]:  # fmt: skip
        """TensorFlow 1's Adam (its defaults; a step of ``learning_rate``, None: the
        settings') from a preprocessed start image, each update projected to [0, 255]; each
        Step holds the image before the update, as TransferGraph.adam."""
        image = np.array(start, np.float32)
        moment, second = np.zeros_like(image), np.zeros_like(image)
        rate = self.settings.learning_rate if learning_rate is None else learning_rate
        for step in range(1, iterations + 1):
            costs, gradient = self.value_and_gradient(image)
            before = image.copy()
            size = rate * np.sqrt(1 - ADAM_BETA2**step) / (1 - ADAM_BETA1**step)
            _adam_update(image, gradient, moment, second, np.float32(size))
            del gradient  # the next one is allocated while the network runs
            np.clip(image, self.low, self.low + 255.0, out=image)
            self.set_image(image)
            yield Step(costs, before)

    def lbfgs(self, start: np.ndarray, iterations: int) -> Iterator[Step]:
        """As TransferGraph.lbfgs."""
        return lbfgs_steps(self, start, iterations)

    def close(self) -> None:
        """Nothing of its own to close: the TileNet is shared (its owner closes it)."""


def _adam_update(image, gradient, moment, second, size) -> None:
    """m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2; x -= size m / (sqrt(v) +
    eps): TensorFlow 1's update, in place, with ``gradient`` as the work array (it is not
    needed afterwards), so that no whole-image temporary is allocated."""
    gradient *= 1 - ADAM_BETA1  # (1 - beta1) g
    moment *= ADAM_BETA1
    moment += gradient
    gradient *= gradient  # (1 - beta1)^2 g^2
    gradient *= (1 - ADAM_BETA2) / (1 - ADAM_BETA1) ** 2
    second *= ADAM_BETA2
    second += gradient
    np.sqrt(second, out=gradient)
    gradient += np.float32(ADAM_EPSILON)
    np.divide(moment, gradient, out=gradient)
    gradient *= size
    image -= gradient


def _sum_of_squares(array: np.ndarray, weights: np.ndarray | None = None) -> float:
    """sum(w * a^2) over a (1, H, W, C) array, in float64, 256 rows at a time: the
    temporaries stay small for a 12-megapixel image."""
    total = 0.0
    for top in range(0, array.shape[1], 256):
        part = np.square(array[:, top : top + 256], dtype=np.float64)
        if weights is not None:
            part *= weights[:, top : top + 256]
        total += float(part.sum())
    return total


def total_variation(image: np.ndarray, gradient: np.ndarray | None, weight: float) -> float:
    """costs.total_variation of a (1, H, W, C) image in NumPy; adds ``weight`` times its
    gradient into ``gradient`` when given."""
    _, height, width, _ = image.shape
    dy = image[:, 1:] - image[:, :-1]
    dx = image[:, :, 1:] - image[:, :, :-1]
    pixels = float(height * width)
    value = _sum_of_squares(dy) + _sum_of_squares(dx)
    if gradient is not None:
        scale = np.float32(2.0 * weight / pixels)
        gradient[:, 1:] += scale * dy
        gradient[:, :-1] -= scale * dy
        gradient[:, :, 1:] += scale * dx
        gradient[:, :, :-1] -= scale * dx
    return float(value) / pixels


def temporal_cost(image: np.ndarray, warped: np.ndarray, consistency: np.ndarray,
                  gradient: np.ndarray | None, weight: float) -> float:  # fmt: skip
    """costs.temporal_cost in NumPy; adds ``weight`` times its gradient into ``gradient``
    when given."""
    difference = image - warped
    values = float(image.size)
    value = _sum_of_squares(difference, consistency)
    if gradient is not None:
        gradient += np.float32(2.0 * weight / values) * consistency * difference
    return value / values
