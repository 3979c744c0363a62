"""Detection post-processing in numpy: SSD anchor boxes, box decoding and per-class non-maximum suppression.

A deployed detector does not stop at the head's tensors: its class logits and box offsets are turned
into boxes, thresholded, and overlapping boxes of one class are suppressed. On a small device that
costs milliseconds, so the torch evaluator times it as a stage of its own (``postprocess``).

Layout (the SSD-lite head of :mod:`search_engine.nn.hybrid`): level ``l`` gives class logits
``(1, A * K, H_l, W_l)`` and box offsets ``(1, A * 4, H_l, W_l)``, channel ``a * K + k`` being anchor
``a``'s class ``k``; anchors are ordered by row, column, then anchor (``(H_l * W_l * A,)``). Anchor
``a`` of a cell is a box centred on the cell, of side ``ANCHOR_SCALE`` strides, with aspect ratio
``ASPECT_RATIOS[a % 5]``, its side grown by sqrt(2) for each further round of the five ratios (SSD's
extra square anchor when ``A = 6``). Offsets are decoded as in SSD (Liu et al., ECCV 2016) with
variances ``(0.1, 0.2)``: ``cx = a_cx + 0.1 dx a_w``, ``w = a_w exp(0.2 dw)``.

As RetinaNet and torchvision's SSD-lite do, per level only scores above ``score_threshold`` are
kept, at most ``candidates_per_level`` of them (the highest), read from the head's channel-major
layout without transposing it, before suppression over all levels
(``iou_threshold``) and the ``max_detections`` best. Scores are the sigmoid of the logits; the
threshold is applied to the logits (the sigmoid is monotonic), so only kept candidates are
transformed. With untrained weights most scores sit near 0.5 and pass the threshold: the timing is
then the bounded worst case, as many candidates as the settings allow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
"""Width / height of an anchor, cycled over a cell's anchors."""
ANCHOR_SCALE = 4.0
"""An anchor's side (geometric mean of width and height) in strides of its level."""
VARIANCES = (0.1, 0.2)
"""SSD's scaling of the centre and size offsets."""
MAX_LOG_SIZE = math.log(1000.0 / 16.0)
"""Clip of the decoded log size offset, as in torchvision: an exploding offset cannot overflow ``exp``."""

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Detections:
    """Boxes kept after suppression, best first.

    Attributes:
        boxes: ``(n, 4)`` corners ``(x1, y1, x2, y2)`` in input pixels.
        scores: ``(n,)`` class probability of each box.
        labels: ``(n,)`` class index of each box.
    """

    boxes: FloatArray
    scores: FloatArray
    labels: npt.NDArray[np.int64]


def anchor_boxes(height: int, width: int, stride: float, anchors: int) -> FloatArray:
    """``(height * width * anchors, 4)`` anchors ``(cx, cy, w, h)`` in pixels, ordered row, column, anchor."""
    sizes = np.empty((anchors, 2), dtype=np.float32)  # (anchors, (w, h))
    for a in range(anchors):
        ratio = ASPECT_RATIOS[a % len(ASPECT_RATIOS)]
        side = ANCHOR_SCALE * stride * math.sqrt(2.0) ** (a // len(ASPECT_RATIOS))
        sizes[a] = (side * math.sqrt(ratio), side / math.sqrt(ratio))
    ys, xs = np.meshgrid(
        (np.arange(height, dtype=np.float32) + 0.5) * stride,
        (np.arange(width, dtype=np.float32) + 0.5) * stride,
        indexing="ij",
    )  # (height, width) each
    centres = np.stack([xs, ys], axis=-1).reshape(-1, 1, 2)  # (cells, 1, 2)
    boxes = np.concatenate(
        [
            np.broadcast_to(centres, (height * width, anchors, 2)),
            np.broadcast_to(sizes, (height * width, anchors, 2)),
        ],
        axis=-1,
    )  # (cells, anchors, 4)
    return np.ascontiguousarray(boxes.reshape(-1, 4))


def decode_boxes(offsets: FloatArray, anchors: FloatArray) -> FloatArray:
    """``(n, 4)`` corners from SSD offsets ``(dx, dy, dw, dh)`` relative to anchors ``(cx, cy, w, h)``."""
    centre = anchors[:, :2] + offsets[:, :2] * VARIANCES[0] * anchors[:, 2:]
    size = anchors[:, 2:] * np.exp(np.minimum(offsets[:, 2:] * VARIANCES[1], MAX_LOG_SIZE))
    return np.concatenate([centre - size / 2.0, centre + size / 2.0], axis=1).astype(np.float32)


def nms(
    boxes: FloatArray, scores: FloatArray, iou_threshold: float, limit: int | None = None
) -> npt.NDArray[np.int64]:
    """Indices of the boxes greedy non-maximum suppression keeps, best score first.

    A box is dropped when its intersection over union with a kept, better-scoring box exceeds
    ``iou_threshold``. With ``limit``, it stops once that many are kept: greedy suppression keeps
    boxes in score order, so those are exactly the first ``limit`` it would keep without one.
    """
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (np.ascontiguousarray(boxes[order, j]) for j in range(4))  # (n,) each, best first
    areas = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
    suppressed = np.zeros(order.size, dtype=bool)
    keep: list[int] = []
    for i in range(order.size):  # slices of the sorted arrays are views: no gather per kept box
        if suppressed[i]:
            continue
        keep.append(int(order[i]))
        if limit is not None and len(keep) >= limit:
            break
        width = np.minimum(x2[i], x2[i + 1 :]) - np.maximum(x1[i], x1[i + 1 :])
        height = np.minimum(y2[i], y2[i + 1 :]) - np.maximum(y1[i], y1[i + 1 :])
        overlap = np.maximum(width, 0.0) * np.maximum(height, 0.0)
        suppressed[i + 1 :] |= overlap > iou_threshold * np.maximum(
            areas[i] + areas[i + 1 :] - overlap, 1e-12
        )
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes: FloatArray,
    scores: FloatArray,
    labels: npt.NDArray[np.int64],
    iou_threshold: float,
    limit: int | None = None,
) -> npt.NDArray[np.int64]:
    """Per-class NMS in one call: each class's boxes are shifted apart so no two classes ever overlap."""
    if boxes.size == 0:
        return np.zeros(0, dtype=np.int64)
    shift = (labels.astype(np.float32) * (float(boxes.max()) + 1.0))[:, None]  # (n, 1)
    return nms(boxes + shift, scores, iou_threshold, limit)


@dataclass(frozen=True, eq=False)
class Postprocess:
    """Decoding and suppression for one input size and head layout; anchors are made once, at construction.

    Args:
        feature_sizes: ``(H_l, W_l)`` of each pyramid level, finest first.
        image_size: input side in pixels (strides are ``image_size / W_l``).
        anchors: anchors per cell.
        num_classes: classes per anchor.
    """

    feature_sizes: tuple[tuple[int, int], ...]
    image_size: int
    anchors: int
    num_classes: int
    score_threshold: float = 0.05
    iou_threshold: float = 0.5
    candidates_per_level: int = 300
    max_detections: int = 100
    grids: tuple[FloatArray, ...] = field(init=False, repr=False)
    """Each level's ``(H_l * W_l * A, 4)`` anchors, made once."""

    def __post_init__(self) -> None:
        grids = tuple(
            anchor_boxes(h, w, self.image_size / max(w, 1), self.anchors) for h, w in self.feature_sizes
        )
        object.__setattr__(self, "grids", grids)  # frozen: set once, here

    def __call__(self, class_logits: Sequence[FloatArray], box_offsets: Sequence[FloatArray]) -> Detections:
        """Detections of one image from the head's per-level outputs (batch of one, NCHW)."""
        logit_threshold = math.log(self.score_threshold / (1.0 - self.score_threshold))
        k = self.num_classes
        all_boxes, all_scores, all_labels = [], [], []
        for logits, offsets, grid in zip(class_logits, box_offsets, self.grids, strict=True):
            h, w = logits.shape[-2:]
            cells = h * w
            # Channel-major views, no copy: score index = (a * K + k) * cells + cell
            flat = np.asarray(logits).reshape(-1)  # (A * K * cells,)
            if flat.size > self.candidates_per_level:
                # the best few above the threshold are the best few overall, thresholded
                best = np.argpartition(-flat, self.candidates_per_level - 1)
                candidates = best[: self.candidates_per_level]
            else:
                candidates = np.arange(flat.size)
            candidates = candidates[flat[candidates] > logit_threshold]
            channel, cell = np.divmod(candidates, cells)
            anchor, label = np.divmod(channel, k)
            deltas = np.asarray(offsets).reshape(self.anchors, 4, cells)[anchor, :, cell]  # (n, 4)
            all_boxes.append(decode_boxes(deltas, grid[cell * self.anchors + anchor]))
            all_scores.append(1.0 / (1.0 + np.exp(-flat[candidates])))
            all_labels.append(label.astype(np.int64))
        boxes = np.concatenate(all_boxes).astype(np.float32)  # (n, 4)
        scores = np.concatenate(all_scores).astype(np.float32)  # (n,)
        labels = np.concatenate(all_labels)  # (n,)
        kept = batched_nms(boxes, scores, labels, self.iou_threshold, self.max_detections)
        return Detections(boxes[kept], scores[kept], labels[kept])


PYRAMID_LEVELS = (2, 3, 4)
"""Which of the five halvings (stem, stages 2-5) give the maps the detection head predicts on: the
outputs of stages 3, 4 and 5."""


def for_network(
    resolution: int,
    anchors: int,
    num_classes: int,
    *,
    score_threshold: float,
    iou_threshold: float,
    max_detections: int,
) -> NetworkPostprocess:
    """Post-processing of the HyT-NAS detection head at ``resolution`` px (its three pyramid levels).

    The stem and stages 2-5 each halve the map (3x3 convolutions, stride 2, padding 1), so the sides
    follow from the input side alone; stages 3, 4 and 5 feed the pyramid.
    """
    side, sides = resolution, []
    for level in range(5):
        side = (side - 1) // 2 + 1
        if level in PYRAMID_LEVELS:
            sides.append((side, side))
    decode = Postprocess(
        tuple(sides),
        resolution,
        anchors,
        num_classes,
        score_threshold=score_threshold,
        iou_threshold=iou_threshold,
        max_detections=max_detections,
    )
    return NetworkPostprocess(decode)


@dataclass(frozen=True)
class NetworkPostprocess:
    """``Postprocess`` fed the head's outputs as each runtime returns them."""

    decode: Postprocess

    def of_torch_head(self, head: Mapping[str, Sequence[Any]]) -> Detections:
        """From the PyTorch head's ``{"class_logits": [...], "boxes": [...]}`` of tensors, per level."""
        return self.decode([t.numpy() for t in head["class_logits"]], [t.numpy() for t in head["boxes"]])

    def of_runtime_head(self, head: Sequence[FloatArray]) -> Detections:
        """From ONNX Runtime's flat output list: every level's class logits, then every level's boxes."""
        levels = len(self.decode.feature_sizes)
        return self.decode(head[:levels], head[levels:])
