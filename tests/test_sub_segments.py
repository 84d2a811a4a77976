"""Two-level segments through the pipeline: children inside large segments, named, saved, assigned."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopseg import Segmenter, load_shop
from shopseg.assign import assign_customers
from shopseg.generate import generate_shop, write_shop


@pytest.fixture(scope="module")
def model_and_shop(tmp_path_factory: pytest.TempPathFactory):
    # 8 planted segments forced into 3: the large segments hide planted groups to split
    paths = write_shop(generate_shop(1200, seed=3), tmp_path_factory.mktemp("shop"))
    shop = load_shop(paths["orders"], products=paths["products"], reviews=paths["reviews"])
    options = {"k": 3, "stability_refits": 0, "map_method": None, "value": False, "use_text": False}
    return Segmenter(**options, sub_segments=True).fit(shop), shop


def test_large_segments_get_named_children(model_and_shop) -> None:
    model, _ = model_and_shop
    split = [p for p in model.profiles_ if p.children]
    assert split, model.notes_
    table = model.assignments()
    for profile in split:
        ids = {child["sub_segment_id"] for child in profile.children}
        rows = table[table["segment_id"] == profile.segment_id]
        assert set(rows["sub_segment_id"]) == ids
        assert all(i.startswith(f"{profile.segment_id}.") for i in ids)
        assert sum(child["size"] for child in profile.children) == profile.size
        names = [child["name"] for child in profile.children]
        assert len(set(names)) == len(names) and all(n.startswith(profile.name + " › ") for n in names)
    unsplit = table[~table["segment_id"].isin([p.segment_id for p in split])]
    assert (unsplit["sub_segment_id"] == unsplit["segment_id"].astype(str)).all()
    assert any("sub-segments" in note for note in model.notes_)


def test_children_survive_save_and_assignment(model_and_shop, tmp_path: Path) -> None:
    model, shop = model_and_shop
    model.save(tmp_path / "model")
    assigned = assign_customers(tmp_path, shop).set_index("customer_id")
    fitted = model.assignments().set_index("customer_id")
    assert (assigned.loc[fitted.index, "sub_segment_id"] == fitted["sub_segment_id"]).all()
    assert (assigned.loc[fitted.index, "sub_segment_name"] == fitted["sub_segment_name"]).all()
