"""The Stylizer: weights, settings and device fixed for many jobs, the graphs (one for every
size computed in one pass, one per size computed in tiles) and the targets worth remembering
across jobs."""

from __future__ import annotations

import numpy as np

from stylize import memory, tile_plan
from stylize.config import Settings
from stylize.device import GPU, concrete_precision, gpu_free_memory
from stylize.optimize import TransferGraph, style_grams_at_size
from stylize.tile_net import TileNet
from stylize.tiled import TiledGraph, tiled_style_grams
from stylize.weights import VggWeights

_UNPLANNED = object()  # a size not planned yet (None is the one-pass graph's key)


class Stylizer:
    """Weights, settings and device fixed; graphs built on first use and kept: one
    TransferGraph for every size that fits in one pass, and a TiledGraph (on the
    Stylizer's one TileNet) per size that needs tiles; the ``max_graphs`` most recently used
    of these are kept (each holding a copy of the weights), so the scales of a run and many
    jobs pay for a graph once. Content and style targets can be remembered by key across
    jobs. ``--precision auto`` is made concrete for the device here (``self.settings``
    holds bfloat16 or float32)."""

    def __init__(self, weights: VggWeights, settings: Settings, device: str,
                 max_graphs: int | None = None, regions: int = 0,
                 keep_mask: bool = False, temporal_weight: float = 0.0):  # fmt: skip
        self.weights, self.device = weights, device
        self.settings = settings.with_changes(
            precision=concrete_precision(settings.precision, device)
        )
        self.max_graphs = max_graphs
        self.regions, self.keep_mask = regions, keep_mask  # see TransferGraph
        self.temporal_weight = temporal_weight
        # Keyed by size for tiled graphs and by None for the one-pass graph.
        self._graphs: dict[tuple[int, int] | None, TransferGraph | TiledGraph] = {}
        self._keys: dict[tuple[int, int], tuple[int, int] | None] = {}  # size -> its graph's key
        self._content_cache: dict[tuple, dict[str, np.ndarray]] = {}
        self._style_cache: dict[tuple, dict[str, np.ndarray]] = {}
        self._tile_net: TileNet | None = None
        self.on_tile = None  # called (pass name, tiles done, tiles) by tiled graphs
        self.on_note = None  # called with a line saying when a size is tiled, and why

    def graph(self, width: int, height: int) -> TransferGraph | TiledGraph:
        """The graph for a (width, height) image: one pass when it fits in memory (and no
        --tile-size asks otherwise), else tiles (stylize.tiled); sizes that cannot fit even
        in tiles are refused. A size is planned once while its graph is kept: the memory
        the graphs themselves take must not make a size planned in one pass tiled later."""
        size = (width, height)
        key = self._keys.get(size, _UNPLANNED)
        if key is _UNPLANNED or key not in self._graphs:
            core = self.plan(width, height).core
            key = self._keys[size] = None if core is None else size
            if key not in self._graphs:
                self._make_room()
                self._graphs[key] = self._build(width, height, core)
                if core is not None:
                    self._say_tiled(width, height, self._graphs[key])
        self._graphs[key] = self._graphs.pop(key)  # most recently used last
        return self._graphs[key]

    def _make_room(self) -> None:
        """Drop the least recently used graph when ``max_graphs`` are kept, before another
        is built."""
        if self.max_graphs and len(self._graphs) >= self.max_graphs:
            self._graphs.pop(next(iter(self._graphs))).close()
            memory.release_free_memory()

    def plan(self, width: int, height: int) -> tile_plan.Plan:
        """One pass or tiles for a size, from the memory left (on a GPU, its free memory
        for the network). Raises ResourceError for a size that cannot fit even in tiles."""
        device_free = gpu_free_memory() if self.device == GPU else None
        return tile_plan.plan_size(self.weights, self.settings, width, height,
                                   memory.available_memory(), device_free)  # fmt: skip

    def _build(self, width: int, height: int, core: int | None) -> TransferGraph | TiledGraph:
        if core is None:
            return TransferGraph(self.weights, self.settings, self.device, self.regions,
                                 self.keep_mask, self.temporal_weight)  # fmt: skip
        graph = TiledGraph(self.tile_net(), self.weights.mean_pixel, height, width,
                           self.settings, core, self.keep_mask, self.temporal_weight)  # fmt: skip
        graph.on_tile = self._tile_done
        return graph

    def _say_tiled(self, width: int, height: int, graph: TiledGraph) -> None:
        if self.on_note is None:
            return
        one_pass = memory.step_bytes(self.weights, self.settings, width, height)
        reason = (f"--tile-size {self.settings.tile_size}" if self.settings.tile_size else
                  f"one pass would need about {one_pass / 2**30:.1f} GiB")  # fmt: skip
        self.on_note(f"{width}x{height}: J and its gradient computed in {len(graph.tiles)} tiles"
                     f" of at most {largest_core(graph)} px ({reason})")  # fmt: skip

    def tile_net(self) -> TileNet:
        """The one tile network of this Stylizer, built on first use."""
        if self._tile_net is None:
            self._tile_net = TileNet(self.weights, self.settings, self.device, self.regions)
        return self._tile_net

    def _tile_done(self, name: str, done: int, count: int) -> None:
        if self.on_tile is not None:
            self.on_tile(name, done, count)

    def grams_at_size(self, image: np.ndarray, plan: tile_plan.Plan | None = None
                      ) -> dict[str, np.ndarray]:  # fmt: skip
        """Normalized style Grams of a preprocessed (1, h, w, 3) image of any size: on the
        one-pass graph when one is kept (its image is replaced), else in a graph of its own
        (which would not drop a kept tiled graph), or in tiles when that would not fit.
        ``plan``: self.plan of the image's size, when the caller has it already."""
        _, height, width, _ = image.shape
        plan = plan or self.plan(width, height)
        if plan.core is None and None in self._graphs:
            return self._graphs[None].style_grams(image)
        if plan.core is None:
            return style_grams_at_size(self.weights, image, self.settings, self.device)
        return tiled_style_grams(self.tile_net(), image, plan.core, self._tile_done)

    def content_features(self, graph: TransferGraph, content: np.ndarray,
                         key: object = None) -> dict[str, np.ndarray]:  # fmt: skip
        """Content-layer activations of a preprocessed image; with a ``key`` (a content
        file's checksum, say) they are remembered per size, for a content meeting many
        styles. The most recent 8 are kept."""
        if key is None:
            return graph.content_features(content)
        return _remember(self._content_cache, (key, content.shape),
                         lambda: graph.content_features(content))  # fmt: skip

    def style_grams(self, key: object, size: tuple[int, int], compute) -> dict[str, np.ndarray]:
        """A style's Grams at an output size, from ``compute()`` or remembered under ``key``
        (None: not remembered). The most recent 16 are kept."""
        if key is None:
            return compute()
        return _remember(self._style_cache, (key, size), compute, limit=16)

    def close(self) -> None:
        for graph in self._graphs.values():
            graph.close()
        self._graphs.clear()
        if self._tile_net is not None:
            self._tile_net.close()
            self._tile_net = None


def largest_core(graph: TiledGraph) -> int:
    """The longest side, in pixels, of a tiled graph's tile cores: the core it was built
    with, rounded down to the stride and balanced over the image (tiles.spans), so at most
    that core and often less."""
    return max(max(tile.rows.core_stop - tile.rows.core_start,
                   tile.columns.core_stop - tile.columns.core_start)
               for tile in graph.tiles)  # fmt: skip


def _remember(cache: dict, key: tuple, compute, limit: int = 8):
    if key not in cache:
        if len(cache) >= limit:
            cache.pop(next(iter(cache)))
        cache[key] = compute()
    return cache[key]
