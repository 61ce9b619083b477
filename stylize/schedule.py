"""Coarse to fine: the sizes a run optimizes at and the iterations each one gets.

Measured with benchmarks/schedule.py (benchmarks/README.md, "Coarse-to-fine schedules at
print size"): at 400x300 a few half-size iterations settle the large structures and more of
them only delay the full-size ones, so iterations follow the pixel counts there; at
4000x3000 a full-size iteration costs minutes and the coarse scales reach a far lower
full-size J in the same time, so big outputs halve the iterations each time the side
doubles (as jcjohnson/neural-style's multi-resolution example does) and, unless --scales
says otherwise, start near 512 px. At 1024x768, the smallest big size, that reached the
one-scale run's final J 3.3x sooner. A fresh Adam at each scale over-steps on an
upsampled image that is nearly settled, so later scales above BIG_SIDE take a smaller step
(scale_learning_rates).

How many scales a small output's iterations are shared among, not their sizes, sets the
shares: about 20 coarse L-BFGS evaluations settle the large structures at 200x150 and at
100x75 alike, so a coarser start (--scale-ratio 4: 100x75, then 400x300) makes them cheaper.
At 400x300 in bfloat16 that reached the notebook's J in 3.1-3.5 s instead of 5.5 s and
ended 100 evaluations lower; with a third scale between, its targets and first evaluations
cost more than it gave (benchmarks/README.md, "A coarser start").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from stylize import images
from stylize.config import MAX_SCALES

BIG_SIDE = 1024  # px: an output whose longest side is at least this is "big"
COARSEST_SIDE = 512  # px: where the automatic schedule of a big output starts, about


def automatic_scales(width: int, height: int, ratio: float = 2.0) -> int:
    """The number of scales ``--scales 0`` (the default) gives a ``width`` x ``height``
    output with sides ``ratio`` apart: 1 under BIG_SIDE px, else enough steps to start
    within a factor of sqrt(ratio) of COARSEST_SIDE (halving: 1024 px: 2 scales; 2000: 3;
    4000: 4, from 500 px; at ratio 4, 4000 px: 2, from 1000 px)."""
    longest = max(width, height)
    if longest < BIG_SIDE:
        return 1
    steps = math.log2(longest / COARSEST_SIDE) / math.log2(ratio)
    return min(MAX_SCALES, 1 + round(steps))


def split_iterations(total: int, sizes: Sequence[tuple[int, int]]) -> list[int]:
    """Share ``total`` iterations among scales (coarsest first, the output last), at least
    one each while the total allows, the rest to the last scale.

    Under BIG_SIDE px in proportion to the pixel counts the scales would have if each
    halved the next, whatever their real sizes (2 scales: 20 % and 80 %; see the module's
    docstring); for a big output in proportion to 1 / side, so at halving steps each scale
    has half the iterations of the one before (4 scales: 8/15, 4/15, 2/15, 1/15).
    """
    if max(sizes[-1]) >= BIG_SIDE:
        weights = [Fraction(1, max(width, height)) for width, height in sizes]
    else:
        halving = images.scale_ladder(*sizes[-1], len(sizes))
        weights = [Fraction(width * height) for width, height in halving]
    whole = sum(weights)
    shares = [min(max(1, math.floor(total * w / whole)), total) for w in weights[:-1]]
    while sum(shares) >= total and any(shares):
        shares[shares.index(max(shares))] -= 1
    return [*shares, total - sum(shares)]


def plan_scales(
    total: int, width: int, height: int, scales: int, ratio: float = 2.0
) -> list[tuple[tuple[int, int], int]]:
    """((width, height), iterations) per scale for ``total`` iterations ending at a
    ``width`` x ``height`` output: ``scales`` sizes (0: automatic_scales) ``ratio`` apart
    from images.scale_sizes, shares from split_iterations. A scale left without iterations
    (a budget smaller than the number of scales) is left out rather than run empty."""
    count = scales or automatic_scales(width, height, ratio)
    sizes = images.scale_sizes(width, height, count, ratio)
    shares = split_iterations(total, sizes)
    return [(size, share) for size, share in zip(sizes, shares, strict=True) if share]


def scale_learning_rates(rate: float, sizes: Sequence[tuple[int, int]]) -> list[float]:
    """Adam's step at each scale (coarsest first) for a step of ``rate`` pixel values:
    ``rate`` at the first scale and at any scale under BIG_SIDE px, and for a scale that
    starts from the previous one's image at a longest side of BIG_SIDE px or more,
    ``rate * (BIG_SIDE / side) ** 2`` (4000x3000 from 2.0: 2.0, 2.0, 0.52 at 2000 px and
    0.13 at 4000 px).

    Adam's first update moves every pixel by the full step whatever the gradient, and at
    2000 px and above the upsampled image is already close to that scale's optimum: at 2.0
    J rose 8-9x on the first update and the scale's best stayed near its start (benchmarks/
    README.md, "Adam's step at fine scales"). At 1000 px from 500 px the start is far from
    it and 2.0 was best, so smaller sizes keep the user's step.
    """
    rates = [rate]
    for width, height in sizes[1:]:
        side = max(width, height)
        rates.append(rate if side < BIG_SIDE else rate * (BIG_SIDE / side) ** 2)
    return rates
