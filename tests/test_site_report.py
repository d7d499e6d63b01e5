"""diffusionlab.site.exercise (the report job of scripts/report.py): the manifest of a workflow
run, built from the config and the files of part A, part B and the evaluation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from diffusionlab.evaluation import part_a_metric_params as eval_part_a
from diffusionlab.part_a import item_params as part_a_params
from diffusionlab.site import exercise, part_spec
from diffusionlab.site.demo import animation, digit_grid, loss_curve
from diffusionlab.site.placement import part_a_figure

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = str(ROOT / "templates")
BENCHMARK = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
NOT_RUN = [{"part": "eval", "not_run": "No evaluation rules yet."}]


def test_the_report_job_does_not_import_torch():
    """The report renders files; importing torch would add seconds to every rebuild."""
    code = (f"import importlib.util, sys; spec = importlib.util.spec_from_file_location('r', "
            f"{str(ROOT / 'scripts' / 'report.py')!r}); spec.loader.exec_module("
            "importlib.util.module_from_spec(spec)); sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def part_b_files(folder: Path, config: dict) -> dict:
    """Synthetic stand-ins for every file the report rule gets from part B."""
    pb = config["part_b"]
    folder.mkdir(parents=True, exist_ok=True)
    seeds = iter(range(100))

    def png(name: str) -> str:
        return str(digit_grid(folder / f"{name}.png", 2, 4, next(seeds)))

    files = {
        "noising": png("noising"),
        "ood": png("ood"),
        "ood_metrics": folder / "ood.csv",
        "data_meta": folder / "mnist.json",
        "denoiser_results": [png(f"results{e}") for e in pb["denoiser"]["figure_epochs"]],
        "benchmarks": [folder / "train_time.tsv"],
    }
    files["ood_metrics"].write_text("sigma,mse,psnr_db,test_digits\n0.5,0.0123,19.1,10000\n")
    files["data_meta"].write_text(json.dumps({"source": "embedded", "train_digits": 4000}))
    files["benchmarks"][0].write_text(BENCHMARK + "61.5\t0:01:01\t900\t1\t1\t1\t0\t0\t1\t60\n")
    for model in ("denoiser", "time", "class"):
        files[f"{model}_loss"] = str(loss_curve(folder / f"{model}_loss.png", next(seeds)))
        losses = folder / f"{model}_losses.csv"
        losses.write_text("epoch,step,loss\n1,0,0.9\n1,1,0.5\n2,2,0.04\n2,3,0.02\n")
        files[f"{model}_losses"] = str(losses)
        info = folder / f"{model}.json"
        info.write_text(json.dumps({"machine": {"device": "cpu", "cpu_threads": 2}}))
        files[f"{model}_info"] = str(info)
    for model in ("time", "class"):
        epochs = pb[model]["sample_epochs"]
        files[f"{model}_samples"] = [png(f"{model}_samples{e}") for e in epochs]
        files[f"{model}_animations"] = [
            str(animation(folder / f"{model}_anim{e}.gif", next(seeds), frames=2)) for e in epochs
        ]
    return files


def part_a_files(folder: Path, config: dict) -> dict:
    """Synthetic stand-ins for the figures of every backend in part_a.backends, at the paths of
    part_a.item_params.figures (under `folder`)."""
    files = {}
    for n, backend in enumerate(config["part_a"]["backends"]):
        figures = []
        for path in part_a_params.figures(config, backend):
            if path.endswith(".png"):
                target = folder / path
                target.parent.mkdir(parents=True, exist_ok=True)
                figures.append(str(digit_grid(target, 1, 3, n)))
        files[f"part_a_{backend}"] = figures
    return files


def part_a_metric_files(folder: Path, config: dict) -> dict:
    """Synthetic stand-ins for the files of the evaluation's part A rules."""
    files = {name: folder / Path(path).name for name, path in eval_part_a.files(config).items()}
    folder.mkdir(parents=True, exist_ok=True)
    items = eval_part_a.illusion_items(config)
    csvs = {
        "illusions_table": "item,kind,figure,digits,views,samples,alignment,concealment,"
        "success_rate,ceiling\n"
        + "".join(f"{i},anagram,x.png,6 / 9,identity / flip,8,0.5,0.1,0.25,\n" for i in items),
        "illusions_views": "item,view,target,samples,p_target,p_other,accuracy\n"
        + "".join(f"{i},identity,6,8,0.5,0.2,0.5\n" for i in items),
        "illusions_view_types": "kind,views,items,samples,alignment,concealment,success_rate\n"
        "anagram,identity / flip,3,8,0.5,0.1,0.25\n",
        "illusions_scores": "item,sample,view,target,p_target,p_other,predicted,correct\n"
        + "".join(f"{i},{n},identity,6,0.5,0.2,6,True\n" for i in items for n in range(8)),
        "sdedit_table": "i_start,t,edits,kept_class,p_source,source_accuracy\n"
        "1,28,16,0.5,0.4,0.9\n",
    }
    for name, text in csvs.items():
        files[name].write_text(text)
    for name in ("illusions_figure", "sdedit_figure"):
        loss_curve(files[name], 3)
    return {name: str(path) for name, path in files.items()}


def only_mnist(config: dict) -> dict:
    return {**config, "part_a": {**config["part_a"], "backends": ["mnist"]}}


def evaluation_files(folder: Path, config: dict) -> dict:
    """Synthetic stand-ins for the files of the evaluation rules."""
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "classifier.json"
    info.write_text(json.dumps({"test_accuracy": 0.9876, "test_digits": 10000,
                                "data": {"train_digits": 60000}}))
    files = {"classifier_info": str(info)}
    for model, extra in (("time", ""), ("class", ",class_accuracy")):
        table = folder / f"checkpoints_{model}.csv"
        table.write_text(f"epoch,samples,frechet_distance,floor,ratio{extra}\n"
                         f"20,100,3.6,1.2,3.0{',0.97' if extra else ''}\n")
        files[f"checkpoints_{model}"] = str(table)
    files["targets"] = folder / "targets.csv"
    files["targets"].write_text("metric,target,reached,met\nclassifier: test accuracy,≥ 0.99,"
                                "0.9876,no\n")
    for name in ("denoising", "guidance"):
        files[f"{name}_figure"] = str(loss_curve(folder / f"{name}.png", 1))
    files["denoising_table"] = folder / "denoising.csv"
    files["denoising_table"].write_text("sigma,method,mse,psnr,test_digits\n0.5,x,0.1,10,100\n")
    files["guidance_table"] = folder / "guidance.csv"
    files["guidance_table"].write_text("guidance,digit,samples,accuracy,mean_probability\n")
    quality = "method,steps,samples,frechet_distance,floor"
    for model in config["evaluation"]["sampler_steps"]["models"]:
        files[f"steps_{model}_figure"] = str(loss_curve(folder / f"steps_{model}.png", 2))
        table = folder / f"steps_{model}.csv"
        extra = ",class_accuracy" if model == "class" else ""
        table.write_text(f"{quality}{extra}\nddim,20,100,3.5,1.2{',0.9' if extra else ''}\n")
        files[f"steps_{model}_quality"] = str(table)
        timing = folder / f"steps_{model}_timing.csv"
        timing.write_text("method,steps,samples,seconds,device\nddim,20,100,1.5,cpu\n")
        files[f"steps_{model}_timing"] = str(timing)
    return files


def test_loss_and_schedule_values(tmp_path):
    from diffusionlab.site.training_text import COURSE, schedule_text

    losses = tmp_path / "losses.csv"
    losses.write_text("epoch,step,loss\n1,0,1.0\n2,1,0.25\n2,2,0.75\n")
    assert exercise.final_loss(str(losses)) == 0.5
    course = {"lr_schedule": "exponential", "lr_decay_total": 0.1, "ema_decay": None}
    assert schedule_text(course, course=True) == (
        "decayed exponentially by a factor 0.1 over training")
    assert schedule_text({**course, "lr_decay_total": None}) == "kept constant"
    beyond = schedule_text({**course, "lr_schedule": "onecycle", "ema_decay": 0.999},
                           course=True)
    assert beyond.startswith("a one-cycle schedule") and "decay 0.999" in beyond
    assert beyond.endswith(f"beyond the course: {COURSE}")
    assert "beyond" not in schedule_text({**course, "ema_decay": 0.999})  # not the exercise


def test_manifest_of_the_reference_config(config, tmp_path):
    files = part_b_files(tmp_path / "results", config) | part_a_files(tmp_path, config)
    manifest = exercise.manifest(files, config, NOT_RUN)
    assert [(p.part, p.backend, p.not_run is None) for p in manifest.parts] == [
        ("A", "DeepFloyd IF", True),
        ("A", "MNIST class-conditioned UNet", True),
        ("A", "fashion class-conditioned UNet (deep dive)", True),
        ("B", None, True),
        ("eval", None, False),
    ]
    fashion = manifest.parts[2].sections
    assert fashion["1.1"].values["model_steps"] == config["deep_dive"]["models"]["fashion"][
        "num_steps"]
    assert fashion["1.6"].figures[0].values["prompt"] == "a photo of a sneaker"
    class_section = manifest.parts[3].sections["2.4"]
    assert class_section.values["guidance"] == config["part_b"]["class"]["guidance"]
    assert [f.values["epoch"] for f in class_section.figures[1:]] == 2 * list(
        config["part_b"]["class"]["sample_epochs"]
    )


def test_render_shows_the_config(config, tmp_path):
    config = {**config, "part_a": {**config["part_a"], "backends": []}}
    files = part_b_files(tmp_path / "results", config)
    exercise.build_report(files, str(tmp_path / "site"), config, NOT_RUN, TEMPLATES, ROOT)
    part_b = (tmp_path / "site" / "part-b.html").read_text()
    pb = config["part_b"]
    for text in (
        f"batch {pb['denoiser']['batch_size']}, {pb['denoiser']['epochs']} epochs",
        f"T = {pb['schedule']['num_steps']}, β from {pb['schedule']['beta_start']:g}",
        f"guidance γ = {pb['class']['guidance']}",
        f"class dropped with probability {pb['class']['p_uncond']}",
        f"{pb['time']['num_samples']} samples of the time-conditioned UNet after epoch",
        "σₜ² = βₜ",
        "Mean training loss over the last epoch: 0.0300.",
        "PSNR (dB)",
    ):
        assert text in part_b, text
    index = (tmp_path / "site" / "index.html").read_text()
    assert "No evaluation rules yet." in index
    assert "train_time" in index and "0:01:02" in index
    assert not list((tmp_path / "site").glob("part-a*.html"))
    assert "Not in part_a.backends — it needs a CUDA GPU and Hugging Face access" in index
    assert "Not in part_a.backends — add mnist there" in index


def test_render_with_the_evaluation(config, tmp_path):
    config = only_mnist(config)
    files = part_b_files(tmp_path / "results", config) | evaluation_files(tmp_path / "ev", config)
    files |= part_a_files(tmp_path, config)
    not_run = [p for p in NOT_RUN if p["part"] != "eval"]
    exercise.build_report(files, str(tmp_path / "site"), config, not_run, TEMPLATES, ROOT)
    page = (tmp_path / "site" / "evaluation.html").read_text()
    ev = config["evaluation"]
    for text in (
        "Test accuracy of the classifier: 98.76% of the 10000 test digits",
        f"guidance scales γ = {', '.join(map(str, ev['guidance']['scales']))}",
        f"{ev['sampler_steps']['num_samples']} generated digits",
        "Fréchet distance</th>",
        "class accuracy</th>",
        "distance / floor</th>",  # E.3, sample quality by epoch
        f"{ev['checkpoints']['num_samples']} digits sampled with all",
        "Targets, and what this run reached",  # E.7
        "its models and classifier trained on 60,000 digits",
        "<td>classifier: test accuracy</td>",
    ):
        assert text in page, text


def test_part_a_pages_show_every_figure_in_order(config, tmp_path):
    """Each backend of part_a.backends gets a page with all its figures, section by section in
    the order of the exercise (within a section, of part_a.item_params.figures), captioned with the
    settings of the jobs that made them."""
    order = [s.key for s in part_spec("A").sections]
    files = part_b_files(tmp_path / "results", config) | part_a_files(tmp_path, config)
    exercise.build_report(files, str(tmp_path / "site"), config, NOT_RUN, TEMPLATES, ROOT)
    pa = config["part_a"]
    for backend in pa["backends"]:
        page = (tmp_path / "site" / f"part-a-{backend}.html").read_text()
        shown = re.findall(r'<img src="figures/part-a-[a-z]+/s-[^/]+/([^"]+)\.png"', page)
        stems = [Path(f).stem for f in files[f"part_a_{backend}"]]
        assert len(stems) == len(set(stems)) >= 15
        assert shown == sorted(stems, key=lambda s: order.index(part_a_figure(s).section))
        section = part_a_params.section(pa, backend)
        for text in (
            f"t = {', '.join(map(str, pa['noise_levels']))}",
            f"i_start = {', '.join(map(str, pa['i_starts']))}",
            f"from index {pa['i_start']} of the strided schedule (stride {pa['stride']})",
            f"guidance γ = {section['guidance']}",
            "the prompts “{}”, “{}”".format(*section["anagrams"][0]["prompts"]),
            f"under the views {', '.join(section['anagrams'][0]['views'])}",
            f"kernel size {', '.join(map(str, section['hybrids'][0]['kernel_sizes']))}",
        ):
            assert text in page, (backend, text)
    assert "super-resolution" in (tmp_path / "site" / "part-a-deepfloyd.html").read_text()
    assert "super-resolution" not in (tmp_path / "site" / "part-a-mnist.html").read_text()


def test_part_a_without_items_says_which_setting_is_empty(config):
    mnist = {**config["part_a"]["mnist"], "anagrams": [], "inpainting": []}
    config = {**config, "part_a": {**config["part_a"], "mnist": mnist}}
    figures = [f for f in part_a_params.figures(config, "mnist") if f.endswith(".png")]
    part = exercise.part_a("mnist", {"part_a_mnist": figures}, config)
    assert part.sections["1.8"].not_run == "None configured: part_a.mnist.anagrams is empty."
    assert part.sections["1.7.2"].not_run == (
        "None configured: part_a.mnist.inpainting is empty."
    )
    assert part.sections["1.9"].figures and part.sections["1.9"].not_run is None


def test_part_a_metrics_stand_beside_the_figures_they_judge(config, tmp_path):
    config = only_mnist(config)
    files = (part_b_files(tmp_path / "results", config) | part_a_files(tmp_path, config)
             | evaluation_files(tmp_path / "ev", config)
             | part_a_metric_files(tmp_path / "ev_a", config))
    exercise.build_report(files, str(tmp_path / "site"), config, [], TEMPLATES, ROOT)
    page = (tmp_path / "site" / "part-a-mnist.html").read_text()
    sections = dict(re.findall(r'<section class="section" id="s-([^"]+)">(.*?)</section>', page,
                               re.S))
    assert "sdedit.png" in sections["1-7"] and "kept class</th>" in sections["1-7"]
    for key, kind in (("1-8", "anagram"), ("1-9", "hybrid"), ("views", "view")):
        rows = set(re.findall(r"<td>([a-z]+_\d+)</td>", sections[key]))
        assert rows and all(r.startswith(kind) for r in rows), key
        assert "success rate</th>" in sections[key] and "p(target)</th>" in sections[key]
    for key in ("1-1", "1-7-1", "1-7-2"):
        assert "<table>" not in sections[key]
    evaluation = (tmp_path / "site" / "evaluation.html").read_text()
    assert "Part A&#39;s illusions read by the classifier" in evaluation
    assert "illusions.png" in evaluation and "holds them all" in evaluation
