"""The part A step benchmark and the per-job time table run and report what they measure."""

import pytest

from benchmarks import part_a_steps, rule_times
from benchmarks.common import ROOT

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
ALGORITHMS = ["one prompt", "CFG", "anagram, 2 views + CFG", "hybrid, 2 prompts + CFG"]


def test_rule_times_reads_each_benchmark_file_and_totals_them(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    for name, (wall, rss, cpu) in {"part_a_mnist_samples": (2.5, 700, 4.0),
                                   "part_a_mnist_forward": (1.3, 900, 1.5),
                                   "train_time": (99, 2000, 190)}.items():
        row = [wall, "0:00:00", rss, *[0] * 6, cpu]
        (folder / f"{name}.tsv").write_text(HEADER + "\t".join(map(str, row)) + "\n")
    rows = rule_times.main(["--results", str(tmp_path), "--prefix", "part_a_mnist"])
    assert [r["job"] for r in rows] == ["part_a_mnist_forward", "part_a_mnist_samples",
                                        "total (2 jobs)"]
    assert rows[-1]["wall_s"] == pytest.approx(3.8)  # 1.3 + 2.5
    assert rows[-1]["cpu_s"] == pytest.approx(5.5)
    assert rows[-1]["max_rss_mb"] == 900


def test_rule_times_says_when_there_is_nothing_to_read(tmp_path):
    with pytest.raises(SystemExit, match="no benchmark files"):
        rule_times.main(["--results", str(tmp_path)])


def test_part_a_steps_on_the_mnist_backend():
    rows = part_a_steps.main(["--backend", "mnist", "--preset", str(ROOT / "presets/ci.yaml"),
                              "--devices", "cpu", "--images", "2", "--steps", "2",
                              "--repeats", "1"])
    assert [r["algorithm"] for r in rows] == ALGORITHMS
    # CFG, anagrams and hybrids batch their passes: 2 images become 4 or 8 in one UNet call
    assert [r["unet_batch"] for r in rows] == [2, 4, 8, 8]
    assert all(r["s_per_step"] > 0 and r["steps"] == 2 for r in rows)


def test_part_a_steps_on_a_tiny_deepfloyd_pipeline(tmp_path):
    rows = part_a_steps.main(["--backend", "deepfloyd", "--devices", "cpu", "--images", "1",
                              "--steps", "2", "--repeats", "1",
                              "--markdown", str(tmp_path / "steps.md")])
    assert [r["algorithm"] for r in rows] == ALGORITHMS + [
        "stage I sampler (IFPipeline, CFG)", "stage II upsampler (CFG)"]
    assert all(r["backend"] == "deepfloyd" and r["s_per_step"] > 0 for r in rows)
    assert "stage II upsampler" in (tmp_path / "steps.md").read_text()
