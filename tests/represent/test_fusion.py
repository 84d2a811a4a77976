"""Fusion: block scaling, deterministic reduction, safe save/load, transform for new customers."""

from __future__ import annotations

import numpy as np
import pytest

from shopseg.errors import ConfigError, ShopsegError
from shopseg.represent import BlockNormaliser, Fuser, fuse
from shopseg.represent import fusion as fusion_module


def synthetic(n: int = 300, seed: int = 0):
    """Behaviour (n x 6) with two behaviour groups; a taste block (n x 32) with two taste groups.

    Taste is independent of behaviour, so four planted groups; the last 20 customers have no text.
    """
    rng = np.random.default_rng(seed)
    behaviour_group = rng.integers(0, 2, n)
    taste_group = rng.integers(0, 2, n)
    behaviour = rng.normal(size=(n, 6)) * 0.3 + behaviour_group[:, None] * 2.0
    directions = np.linalg.qr(rng.normal(size=(32, 2)))[0].T
    taste = directions[taste_group] + rng.normal(size=(n, 32)) * 0.1
    evidence = rng.integers(1, 10, n).astype(float)
    taste[-20:], evidence[-20:] = 0.0, 0.0
    return behaviour, {"taste": taste}, {"taste": evidence}, behaviour_group * 2 + taste_group


def test_blocks_get_their_weights_share_of_distance():
    behaviour, text, evidence, _ = synthetic()
    normaliser = BlockNormaliser(weights={"behaviour": 1.0, "taste": 2.0}).fit(
        {"behaviour": behaviour, **text}, evidence
    )
    matrix = normaliser.transform({"behaviour": behaviour, **text}, evidence)
    slices = normaliser.block_slices()
    share = {name: np.sqrt((matrix[:, cut] ** 2).sum(axis=1).mean()) for name, cut in slices.items()}
    assert share["behaviour"] == pytest.approx(1.0) and share["taste"] == pytest.approx(2.0)
    assert (matrix[-20:, slices["taste"]] == 0).all()  # no text: at the mean, not a point of its own
    assert np.isfinite(matrix).all()


def test_shrinkage_trusts_many_items_more_than_one():
    taste = np.eye(3)[[0, 0, 1, 2]]  # customers 0 and 1 like the same thing, from 1 and from 50 items
    evidence = {"taste": np.array([1.0, 50.0, 50.0, 50.0])}
    normaliser = BlockNormaliser(shrinkage=2.0).fit({"taste": taste}, evidence)
    rows = normaliser.transform({"taste": taste}, evidence)
    assert np.linalg.norm(rows[0]) < 0.5 * np.linalg.norm(rows[1])


@pytest.mark.parametrize("reducer", ["autoencoder", "pca"])
def test_fusion_is_deterministic_and_round_trips(reducer, tmp_path):
    pytest.importorskip("safetensors")
    if reducer == "autoencoder":
        pytest.importorskip("torch")
    behaviour, text, evidence, _ = synthetic()
    first = Fuser(dim=4, reducer=reducer, epochs=5, random_state=3).fit(behaviour, text, evidence)
    second = Fuser(dim=4, reducer=reducer, epochs=5, random_state=3).fit(behaviour, text, evidence)
    vectors = first.transform(behaviour, text, evidence)
    np.testing.assert_array_equal(vectors, second.transform(behaviour, text, evidence))
    assert vectors.shape == (300, 4) and first.reducer_used_ == reducer

    first.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["fusion.json", "fusion.safetensors"]
    loaded = Fuser.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.transform(behaviour, text, evidence), vectors, atol=1e-9)
    new_behaviour, new_text, new_evidence, _ = synthetic(n=25, seed=9)  # new customers, no refit
    assert loaded.transform(new_behaviour, new_text, new_evidence).shape == (25, 4)


def test_a_different_seed_gives_a_different_autoencoder():
    pytest.importorskip("torch")
    behaviour, text, evidence, _ = synthetic()
    one = Fuser(dim=4, reducer="autoencoder", epochs=3, random_state=0).fit_transform(behaviour, text, evidence)
    two = Fuser(dim=4, reducer="autoencoder", epochs=3, random_state=1).fit_transform(behaviour, text, evidence)
    assert not np.allclose(one, two)


def test_fused_representation_finds_behaviour_and_taste_groups():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    behaviour, text, evidence, truth = synthetic()
    epochs = []
    fused = fuse(
        behaviour,
        text,
        evidence=evidence,
        dim=4,
        reducer="autoencoder",
        on_epoch=lambda e, n, loss: epochs.append((e, n, loss)),
    )
    labels = KMeans(4, n_init=10, random_state=0).fit_predict(fused.vectors[:-20])
    assert adjusted_rand_score(truth[:-20], labels) > 0.95
    assert [e for e, *_ in epochs] == list(range(1, fused.model.epochs + 1))
    assert fused.report["reducer"] == "autoencoder" and fused.report["dim"] == 4
    default = fuse(behaviour, text, evidence=evidence, dim=4)  # PCA by default
    assert default.report["reducer"] == "pca"
    labels = KMeans(4, n_init=10, random_state=0).fit_predict(default.vectors[:-20])
    assert adjusted_rand_score(truth[:-20], labels) > 0.95


def test_pca_fallback_without_torch(monkeypatch):
    monkeypatch.setattr(fusion_module, "torch_available", lambda: False)
    behaviour, text, evidence, _ = synthetic()
    model = Fuser(dim=3, reducer="autoencoder").fit(behaviour, text, evidence)
    assert model.reducer_used_ == "pca" and "PyTorch is not installed" in model.report_["notes"][0]


def test_feature_groups_are_blocks_of_their_own_and_keep_their_weights(tmp_path):
    pytest.importorskip("safetensors")
    behaviour, text, evidence, _ = synthetic()
    layout = {"behaviour": 4, "habits": 1, "taste": 1}  # the feature group "taste" is fused as "categories"
    weights = {"behaviour": 2.0, "habits": 0.5, "categories": 0.0}
    fuser = Fuser(dim=4, weights=weights, feature_blocks=layout, reducer="none").fit(behaviour, text, evidence)
    assert fuser.normaliser_.blocks_ == ["behaviour", "habits", "categories", "taste"]
    assert not any(fuser.normaliser_.text_[name] for name in ("behaviour", "habits", "categories"))
    matrix = fuser.transform(behaviour, text, evidence)
    share = {n: np.sqrt((matrix[:, c] ** 2).sum(axis=1).mean()) for n, c in fuser.normaliser_.block_slices().items()}
    # Each group's share of distance is its own weight, although every column is z-scored first.
    assert share["behaviour"] == pytest.approx(2.0) and share["habits"] == pytest.approx(0.5)
    assert share["categories"] == pytest.approx(0.0) and share["taste"] == pytest.approx(1.5)
    fuser.save(tmp_path / "fusion")
    loaded = Fuser.load(tmp_path / "fusion")
    assert loaded.feature_blocks == layout
    np.testing.assert_allclose(loaded.transform(behaviour, text, evidence), matrix, atol=1e-12)
    with pytest.raises(ShopsegError, match="add up to 6"):
        fuser.transform(behaviour[:, :5], text, evidence)


def test_behaviour_only_and_text_only():
    behaviour, text, evidence, _ = synthetic()
    assert Fuser(dim=2, reducer="pca").fit_transform(behaviour).shape == (300, 2)
    assert Fuser(dim=2, reducer="pca").fit_transform(None, text, evidence).shape == (300, 2)


def test_errors_are_actionable(tmp_path):
    behaviour = synthetic()[0]
    with pytest.raises(ConfigError, match="Unknown reducer"):
        Fuser(reducer="umap").fit(behaviour)
    with pytest.raises(ConfigError, match="embed-dim"):
        Fuser(dim=0).fit(behaviour)
    with pytest.raises(ShopsegError, match="not fitted"):
        Fuser().transform(behaviour)
    with pytest.raises(ShopsegError, match=r"fusion\.json"):
        Fuser.load(tmp_path)


@pytest.mark.parametrize("reducer", ["pca", "autoencoder"])
def test_chunked_transform_and_sampled_fit_bound_memory(reducer, monkeypatch):
    behaviour, blocks, evidence, _ = synthetic()
    fuser = Fuser(dim=4, reducer=reducer, random_state=0).fit(behaviour, blocks, evidence)
    whole = fuser.transform(behaviour, blocks, evidence)
    monkeypatch.setattr(fusion_module, "CHUNK_ROWS", 7)  # 300 rows in 43 chunks: the same rows out
    np.testing.assert_allclose(fuser.transform(behaviour, blocks, evidence), whole, rtol=0, atol=1e-12)
    monkeypatch.setattr(fusion_module, "FIT_ROWS", 120)  # the reduction trains on a seeded sample
    sampled = Fuser(dim=4, reducer=reducer, random_state=0).fit(behaviour, blocks, evidence)
    assert sampled.report_["trained_on"] == 120 and sampled.report_["customers"] == 300
    assert sampled.transform(behaviour, blocks, evidence).shape == (300, 4)
