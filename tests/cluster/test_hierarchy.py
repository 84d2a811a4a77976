"""Two-level segments: a segment hiding two groups is split into "p.1" / "p.2", others are not."""

from __future__ import annotations

import json

import numpy as np

from shopseg.cluster import SubSegmenter


def two_level_data() -> tuple[np.ndarray, np.ndarray]:
    """Segment 0 = two tight sub-groups side by side; segment 1 = one round blob far away."""
    rng = np.random.default_rng(0)
    left = rng.normal([0, 0], 0.3, size=(300, 2))
    right = rng.normal([3, 0], 0.3, size=(300, 2))
    other = rng.normal([20, 20], 1.0, size=(300, 2))
    return np.vstack([left, right, other]), np.repeat([0, 0, 1], 300)


def test_large_segment_with_structure_is_split_and_round_trips() -> None:
    matrix, labels = two_level_data()
    model = SubSegmenter(min_share=0.2, random_state=0).fit(matrix, labels)
    assert set(model.children_) == {0}
    assert sorted(set(model.sub_labels_[:600])) == ["0.1", "0.2"]
    assert set(model.sub_labels_[600:]) == {"1"}
    # The two planted sub-groups are the two children.
    assert len(set(model.sub_labels_[:300])) == 1 and len(set(model.sub_labels_[300:600])) == 1
    loaded = SubSegmenter.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(loaded.predict(matrix, labels), model.sub_labels_)


def test_small_segments_and_noise_keep_their_id() -> None:
    matrix, labels = two_level_data()
    labels = labels.copy()
    labels[:5] = -1
    model = SubSegmenter(min_share=0.9, random_state=0).fit(matrix, labels)
    assert model.children_ == {}
    assert set(model.sub_labels_) == {"-1", "0", "1"}
