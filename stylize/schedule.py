"""Coarse to fine: the sizes a run optimizes at and the iterations each one gets.

Measured with benchmarks/schedule.py (benchmarks/README.md, "Coarse-to-fine schedules at
print size"): at 400x300 a few half-size iterations settle the large structures and more of
them only delay the full-size ones, so iterations follow the pixel counts there; at
4000x3000 a full-size iteration costs minutes and the coarse scales reach a far lower
full-size J in the same time, so big outputs halve the iterations each time the side
doubles (as jcjohnson/neural-style's multi-resolution example does) and, unless --scales
says otherwise, start near 512 px. At 1024x768, the smallest big size, that reached the
one-scale run's final J 3.3x sooner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from stylize import images
from stylize.config import MAX_SCALES

BIG_SIDE = 1024  # px: an output whose longest side is at least this is "big"
COARSEST_SIDE = 512  # px: where the automatic schedule of a big output starts, about


def automatic_scales(width: int, height: int) -> int:
    """The number of scales ``--scales 0`` (the default) gives a ``width`` x ``height``
    output: 1 under BIG_SIDE px, else enough halvings to start within a factor of sqrt(2)
    of COARSEST_SIDE (1024 px: 2 scales; 2000: 3; 4000: 4, from 500 px)."""
    longest = max(width, height)
    if longest < BIG_SIDE:
        return 1
    return min(MAX_SCALES, 1 + round(math.log2(longest / COARSEST_SIDE)))


def split_iterations(total: int, sizes: Sequence[tuple[int, int]]) -> list[int]:
    """Share ``total`` iterations among scales (coarsest first, the output last), at least
    one each while the total allows, the rest to the last scale.

    Under BIG_SIDE px in proportion to the pixel counts (2 scales: 20 % and 80 %); for a big
    output in proportion to 1 / side, so each scale has half the iterations of the one before
    (4 scales: 8/15, 4/15, 2/15, 1/15).
    """
    if max(sizes[-1]) >= BIG_SIDE:
        weights = [Fraction(1, max(width, height)) for width, height in sizes]
    else:
        weights = [Fraction(width * height) for width, height in sizes]
    whole = sum(weights)
    shares = [min(max(1, math.floor(total * w / whole)), total) for w in weights[:-1]]
    while sum(shares) >= total and any(shares):
        shares[shares.index(max(shares))] -= 1
    return [*shares, total - sum(shares)]


def plan_scales(
    total: int, width: int, height: int, scales: int
) -> list[tuple[tuple[int, int], int]]:
    """((width, height), iterations) per scale for ``total`` iterations ending at a
    ``width`` x ``height`` output: ``scales`` sizes (0: automatic_scales) from
    images.scale_sizes, shares from split_iterations. A scale left without iterations (a
    budget smaller than the number of scales) is left out rather than run empty."""
    count = scales or automatic_scales(width, height)
    sizes = images.scale_sizes(width, height, count)
    shares = split_iterations(total, sizes)
    return [(size, share) for size, share in zip(sizes, shares, strict=True) if share]
