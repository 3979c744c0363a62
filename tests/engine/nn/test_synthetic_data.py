"""The synthetic image task: repeatable per seed, balanced, and not solvable from colour alone."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from search_engine.errors import ConfigError  # noqa: E402
from search_engine.nn.synthetic_data import MAX_CLASSES, make_dataset  # noqa: E402


def test_the_same_seed_draws_the_same_images_and_another_seed_different_ones() -> None:
    first = make_dataset(64, 32, 16, 5, seed=3)
    again = make_dataset(64, 32, 16, 5, seed=3)
    other = make_dataset(64, 32, 16, 5, seed=4)
    for a, b, c in zip(first, again, other, strict=True):
        assert torch.equal(a, b)
        assert not torch.equal(a, c)


def test_splits_have_the_asked_shapes_and_balanced_labels() -> None:
    data = make_dataset(103, 40, 24, MAX_CLASSES, seed=0)
    assert data.train_images.shape == (103, 3, 24, 24) and data.train_images.dtype == torch.float32
    assert data.val_images.shape == (40, 3, 24, 24)
    assert data.train_labels.dtype == torch.int64
    for labels in (data.train_labels, data.val_labels):
        counts = torch.bincount(labels, minlength=MAX_CLASSES)
        assert len(counts) == MAX_CLASSES and int(counts.max() - counts.min()) <= 1
    assert not torch.equal(data.train_labels[:10], torch.arange(10))  # shuffled, not in class order
    assert torch.isfinite(data.train_images).all()


def test_the_validation_split_is_not_a_copy_of_the_training_images() -> None:
    data = make_dataset(32, 32, 16, 4, seed=0)
    assert not torch.equal(data.train_images, data.val_images)


def test_a_nearest_class_mean_on_mean_colour_stays_near_chance() -> None:
    data = make_dataset(2000, 1000, 16, MAX_CLASSES, seed=0)
    colour = {split: getattr(data, f"{split}_images").mean(dim=(2, 3)).numpy() for split in ("train", "val")}
    train_labels, val_labels = data.train_labels.numpy(), data.val_labels.numpy()
    means = np.stack([colour["train"][train_labels == k].mean(axis=0) for k in range(MAX_CLASSES)])
    distances = ((colour["val"][:, None, :] - means[None, :, :]) ** 2).sum(axis=2)  # (n_val, classes)
    accuracy = float((distances.argmin(axis=1) == val_labels).mean())
    assert accuracy < 1.5 / MAX_CLASSES  # chance is 1 / MAX_CLASSES
    # Each class's average colour is the overall one, up to sampling noise (4 standard errors).
    standard_errors = np.stack(
        [colour["train"][train_labels == k].std(axis=0) for k in range(MAX_CLASSES)]
    ) / np.sqrt(np.bincount(train_labels)[:, None])  # (classes, 3)
    assert (np.abs(means - colour["train"].mean(axis=0)) < 4.0 * standard_errors).all()


def test_class_counts_outside_the_catalogue_are_rejected() -> None:
    for num_classes in (1, MAX_CLASSES + 1):
        with pytest.raises(ConfigError) as excinfo:
            make_dataset(10, 10, 16, num_classes, seed=0)
        assert excinfo.value.field == "num_classes"
