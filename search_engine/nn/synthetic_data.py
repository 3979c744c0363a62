"""A procedurally generated image classification task: shapes and oriented textures, no downloads.

The short-training accuracy of the torch evaluator needs labelled images that exist on every worker
without a data file, so they are drawn from a seed. Each class is one *pattern*, drawn in local
coordinates of a randomly placed object (centre, size and a small rotation vary per image):

    0  grating at 0 degrees      1  filled disc       2  grating at 90 degrees   3  triangle
    4  plus-shaped cross         5  ring              6  grating at 45 degrees   7  filled square
    8  checkerboard              9  grating at 135 degrees

Gratings are sinusoidal and, like the checkerboard, seen through a round window; shapes and textures
alternate so that the first K classes of any K mix both kinds.

Colour carries no label: every image picks a light and a dark colour independently of its class and
flips a coin for which one is the pattern and which the background, so every class has the same
expected mean colour (grey) and a classifier must look at shape, orientation or texture. Edges are
anti-aliased over one pixel and Gaussian pixel noise is added. Texture periods scale with the object,
about 4-6 pixels at 32 x 32; at 16 x 16 the finest gratings alias, which makes the task harder.

Images are generated with numpy from ``numpy.random.default_rng(seed)``, whose stream is the same on
every platform: the same arguments give the same images (up to the last-bit rounding of ``sin`` on a
different maths library), and torch's global random state is never touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from search_engine.errors import ConfigError

if TYPE_CHECKING:
    import torch

Array = np.ndarray

PATTERNS = (
    "grating_0",
    "disc",
    "grating_90",
    "triangle",
    "cross",
    "ring",
    "grating_45",
    "square",
    "checkerboard",
    "grating_135",
)
#: The largest number of classes the task offers (one per pattern).
MAX_CLASSES = len(PATTERNS)
#: Pixel noise standard deviation, on the 0-1 colour scale.
NOISE_STD = 0.08
#: Images are returned as (x - MEAN) / STD, roughly zero mean and unit variance.
MEAN, STD = 0.5, 0.25


class SyntheticImages(NamedTuple):
    """A train/validation split: images ``(n, 3, R, R)`` float32 and labels ``(n,)`` int64."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor


def make_dataset(n_train: int, n_val: int, resolution: int, num_classes: int, seed: int) -> SyntheticImages:
    """Draw the train and validation images of the first ``num_classes`` patterns.

    Labels are balanced (class counts differ by at most one in each split) and shuffled.

    Args:
        n_train: training images.
        n_val: validation images, drawn after and independently of the training ones.
        resolution: image side R in pixels.
        num_classes: K, between 2 and ``MAX_CLASSES``.
        seed: the only source of randomness.

    Returns:
        The split as torch tensors: images ``(n, 3, R, R)`` float32, labels ``(n,)`` int64 in ``[0, K)``.
    """
    import torch

    if not 2 <= num_classes <= MAX_CLASSES:
        raise ConfigError(
            "num_classes", f"the synthetic task has 2 to {MAX_CLASSES} classes, got {num_classes}"
        )
    for field, value, low in (("n_train", n_train, 1), ("n_val", n_val, 1), ("resolution", resolution, 8)):
        if value < low:
            raise ConfigError(field, f"must be at least {low}, got {value}")
    rng = np.random.default_rng(seed)
    train_images, train_labels = _draw(n_train, resolution, num_classes, rng)
    val_images, val_labels = _draw(n_val, resolution, num_classes, rng)
    return SyntheticImages(
        torch.from_numpy(train_images),
        torch.from_numpy(train_labels),
        torch.from_numpy(val_images),
        torch.from_numpy(val_labels),
    )


def _draw(n: int, resolution: int, num_classes: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """``n`` normalised images ``(n, 3, R, R)`` float32 and their balanced, shuffled labels ``(n,)``."""
    labels = rng.permutation(np.arange(n) % num_classes).astype(np.int64)  # (n,)
    scale = rng.uniform(0.4, 0.7, n)  # object radius, in units of the half image side
    centre = rng.uniform(-0.3, 0.3, (n, 2))  # (n, 2) x, y
    angle = rng.uniform(-math.pi / 12, math.pi / 12, n)  # +-15 degrees of jitter
    period = rng.uniform(0.45, 0.7, n)  # texture period, in units of the object radius
    phase = rng.uniform(0.0, 2.0 * math.pi, n)
    light = rng.uniform(0.5, 1.0, (n, 3))
    dark = rng.uniform(0.0, 0.5, (n, 3))
    light_pattern = rng.random(n) < 0.5
    noise = rng.normal(0.0, NOISE_STD, (n, 3, resolution, resolution))

    axis = (np.arange(resolution) + 0.5) / resolution * 2.0 - 1.0  # pixel centres in [-1, 1]
    x = (axis[None, None, :] - centre[:, 0, None, None]) / scale[:, None, None]  # (n, 1, R)
    y = (axis[None, :, None] - centre[:, 1, None, None]) / scale[:, None, None]  # (n, R, 1)
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u, v = cos * x + sin * y, cos * y - sin * x  # (n, R, R) rotated local coordinates
    # One pixel, in local units: anti-aliasing width of the signed-distance edges.
    pixel = (2.0 / resolution) / scale[:, None, None]  # (n, 1, 1)

    field = np.empty((n, resolution, resolution))  # (n, R, R) pattern coverage in [0, 1]
    for label in range(num_classes):
        rows = labels == label
        if rows.any():
            draw = _PAINTERS[PATTERNS[label]]
            field[rows] = draw(
                u[rows], v[rows], pixel[rows], period[rows, None, None], phase[rows, None, None]
            )

    foreground = np.where(light_pattern[:, None], light, dark)[:, :, None, None]  # (n, 3, 1, 1)
    background = np.where(light_pattern[:, None], dark, light)[:, :, None, None]
    images = background + field[:, None] * (foreground - background) + noise  # (n, 3, R, R)
    return ((images - MEAN) / STD).astype(np.float32), labels


def _inside(distance: Array, pixel: Array) -> Array:
    """Coverage of a shape given its signed distance (negative inside), ramped over one pixel."""
    result: Array = np.clip(0.5 - distance / pixel, 0.0, 1.0)
    return result


def _grating(degrees: float) -> Callable[[Array, Array, Array, Array, Array], Array]:
    """A sinusoidal grating whose stripes run at ``degrees``, seen through a round window."""
    theta = math.radians(degrees)

    def paint(u: Array, v: Array, pixel: Array, period: Array, phase: Array) -> Array:
        across = -math.sin(theta) * u + math.cos(theta) * v  # distance across the stripes
        wave = 0.5 + 0.5 * np.sin(2.0 * math.pi * across / period + phase)
        result: Array = wave * _inside(np.hypot(u, v) - 1.0, pixel)
        return result

    return paint


def _disc(u: Array, v: Array, pixel: Array, period: Array, phase: Array) -> Array:
    return _inside(np.hypot(u, v) - 1.0, pixel)


def _square(u: Array, v: Array, pixel: Array, period: Array, phase: Array) -> Array:
    return _inside(np.maximum(np.abs(u), np.abs(v)) - 0.85, pixel)  # about the disc's area


def _ring(u: Array, v: Array, pixel: Array, period: Array, phase: Array) -> Array:
    return _inside(np.abs(np.hypot(u, v) - 0.7) - 0.3, pixel)


def _cross(u: Array, v: Array, pixel: Array, period: Array, phase: Array) -> Array:
    au, av = np.abs(u), np.abs(v)
    horizontal = np.maximum(au - 1.0, av - 0.3)
    vertical = np.maximum(au - 0.3, av - 1.0)
    return _inside(np.minimum(horizontal, vertical), pixel)


def _triangle(u: Array, v: Array, pixel: Array, period: Array, phase: Array) -> Array:
    # Equilateral, inradius 0.7 (area near the disc's): the largest distance past its three edges.
    edges = [math.radians(a) for a in (90.0, 210.0, 330.0)]  # outward edge normals
    distance = np.max([math.cos(a) * u + math.sin(a) * v for a in edges], axis=0) - 0.7
    return _inside(distance, pixel)


def _checkerboard(u: Array, v: Array, pixel: Array, period: Array, phase: Array) -> Array:
    cells = np.sin(2.0 * math.pi * u / period + phase) * np.sin(2.0 * math.pi * v / period)
    result: Array = (cells > 0) * _inside(np.hypot(u, v) - 1.0, pixel)
    return result


_PAINTERS: dict[str, Callable[[Array, Array, Array, Array, Array], Array]] = {
    "grating_0": _grating(0.0),
    "grating_45": _grating(45.0),
    "grating_90": _grating(90.0),
    "grating_135": _grating(135.0),
    "disc": _disc,
    "square": _square,
    "ring": _ring,
    "cross": _cross,
    "triangle": _triangle,
    "checkerboard": _checkerboard,
}
