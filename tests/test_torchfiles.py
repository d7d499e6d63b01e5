"""Torch files: atomic writes, and one-line errors naming a corrupt or foreign file."""

import pytest
import torch

from diffusionlab.jobrunner import UserError
from diffusionlab.torchfiles import atomic_save, read_torch_dict


def test_atomic_save_leaves_only_the_file(tmp_path):
    path = tmp_path / "images.pt"
    atomic_save({"images": torch.arange(3), "prompts": ["a"]}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["images.pt"]
    saved = read_torch_dict(path, {"images", "prompts"}, "part A's images")
    assert torch.equal(saved["images"], torch.arange(3)) and saved["prompts"] == ["a"]


def test_bad_files_are_one_line_naming_them(tmp_path):
    corrupt, foreign = tmp_path / "corrupt.pt", tmp_path / "foreign.pt"
    corrupt.write_bytes(bytes(range(256)))
    atomic_save({"images": torch.zeros(1)}, foreign)
    for path in (corrupt, foreign):
        with pytest.raises(UserError, match=f"{path} is corrupt or not part A's images of this "
                                            "pipeline .*delete it and rerun now$") as caught:
            read_torch_dict(path, {"images", "prompts"}, "part A's images", " now")
        assert "\n" not in str(caught.value)
    with pytest.raises(FileNotFoundError):
        read_torch_dict(tmp_path / "missing.pt", set(), "a file")


def test_a_corrupt_classifier_is_one_line_naming_it(tmp_path):
    from diffusionlab.evaluation.classifier import load_classifier

    path = tmp_path / "classifier.pt"
    path.write_bytes(b"\x80\x04 not a pickle")
    with pytest.raises(UserError, match=f"{path} is corrupt or not a classifier"):
        load_classifier(path)


def test_a_corrupt_prepared_data_set_names_the_file(tmp_path):
    from diffusionlab.data import Dataset

    bad = tmp_path / "mnist.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(UserError, match=str(bad)):
        Dataset.load(bad)
