"""The site builder: structure, links, escaping, maths, provenance, publishing."""

from __future__ import annotations

import html.parser
import json
import re
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image

from diffusionlab.site import (
    EQUATIONS,
    PARTS,
    Figure,
    Manifest,
    ManifestError,
    PartResult,
    Provenance,
    SectionResult,
    Table,
    build_site,
    load_manifest,
    mathml,
    pack_zip,
    pages_folder,
    publish,
    read_benchmarks,
    save_manifest,
)
from diffusionlab.site.demo import demo, digit_grid
from diffusionlab.site.files import MARKER
from diffusionlab.site.manifest import fill
from diffusionlab.site.provenance import git_commit

FIXED = {"date": "2024-11-20 12:00 UTC", "git_commit": "0123abc", "packages": {"torch": "2.5"}}


class Links(html.parser.HTMLParser):
    """Every src/href of a page, and every id it defines."""

    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append(value)
            if name == "id":
                self.ids.add(value)


def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> tuple[Path, Manifest]:
    base = tmp_path_factory.mktemp("demo")
    manifest, provenance = demo(base / "inputs")
    build_site(manifest, base / "report", provenance, root=base)
    return base / "report", manifest


def one_part(tmp_path: Path, section: SectionResult, **part) -> Manifest:
    """Part B with `section` as 1.2 and every other section marked as not run."""
    sections = {s.key: SectionResult(not_run="not in this test") for s in PARTS[1].sections}
    sections["1.2"] = section
    return Manifest([PartResult("B", sections, **part)])


def test_pages_of_the_parts_that_ran(demo_site):
    site, manifest = demo_site
    pages = sorted(p.name for p in site.glob("*.html"))
    expected = sorted(["index.html"] + [f"{p.page_slug}.html" for p in manifest.parts[1:]])
    assert pages == expected  # the DeepFloyd part was not run: no page
    index = (site / "index.html").read_text()
    assert "The DeepFloyd backend was not run: no GPU" in index
    assert (site / "static" / "site.css").is_file()


def test_links_are_relative_and_resolve(demo_site):
    site, _ = demo_site
    pages = {p.name: parse(p) for p in site.glob("*.html")}
    for name, links in pages.items():
        assert links.refs, name
        for ref in links.refs:
            parts = urlsplit(ref)
            if parts.scheme == "data":
                continue
            assert not parts.scheme and not parts.netloc, f"{name}: absolute link {ref}"
            assert not ref.startswith("/") and ".." not in Path(parts.path).parts, ref
            target = unquote(parts.path) or name
            assert (site / target).is_file(), f"{name}: {ref} points to a missing file"
            if parts.fragment and target.endswith(".html"):
                assert parts.fragment in pages[target].ids, f"{name}: no #{parts.fragment}"
    text = (
        "".join(p.read_text() for p in site.rglob("*.html"))
        + (site / "static" / "site.css").read_text()
    )
    assert "http:" not in text and "https:" not in text and "url(" not in text


def test_every_figure_is_copied_and_shown(demo_site):
    site, manifest = demo_site
    shown = {ref for p in site.glob("*.html") for ref in parse(p).refs if ref.startswith("fig")}
    copied = {p.relative_to(site).as_posix() for p in (site / "figures").rglob("*") if p.is_file()}
    assert shown == copied
    sections = [s for part in manifest.parts for s in part.sections.values()]
    sources = [item for s in sections for item in (*s.figures, *s.tables)]
    assert len(copied) == len({item.src for item in sources})  # a file used twice is copied once
    tables = {table.src for s in sections for table in s.tables}
    assert sum(c.endswith(".csv") for c in copied) == len(tables)
    gif = next(s for s in sources if s.src.suffix == ".gif")
    copy = next(site / c for c in copied if c.endswith(gif.src.name))
    assert copy.read_bytes() == gif.src.read_bytes()


def test_captions_come_from_values(demo_site):
    site, _ = demo_site
    part_b = (site / "part-b.html").read_text()
    assert "σ = 0.5, batch 256, 5 epochs, hidden width D = 128" in part_b
    assert "at σ = 0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0" in part_b
    assert "Final training loss 0.0291 after 20 epochs." in part_b
    assert '<th scope="col" class="num">MSE</th>' in part_b  # a CSV column renamed
    assert "after epoch 5" in part_b and "after epoch 20" in part_b
    part_a = next(site.glob("part-a-*.html")).read_text()
    assert "“a handwritten 0”, “a handwritten 4”, “a handwritten 7” with 5 denoising" in part_a
    assert "from pure noise along the strided schedule (stride 30) for the prompt “”" in part_a
    assert "kernel size 5 and σ = 1.0" in part_a  # {blur[kernel_size]}: a nested value


def test_equations_are_mathml(demo_site):
    site, _ = demo_site
    part_b = (site / "part-b.html").read_text()
    assert part_b.count("<math") == sum(len(s.equations) for s in PARTS[1].sections)
    for name in EQUATIONS:
        markup = str(mathml(name))
        assert markup.startswith("<math") and 'display="block"' in markup
        assert "\\" not in markup, f"{name}: LaTeX left unconverted"
    for page in site.glob("*.html"):
        assert "<script" not in page.read_text()


def test_pixel_art_is_enlarged_and_pixelated(tmp_path):
    small = digit_grid(tmp_path / "small.png", 1, 3, seed=0)
    big = tmp_path / "big.png"
    Image.new("RGB", (900, 300), "white").save(big)
    section = SectionResult(figures=[Figure(small, caption="small"), Figure(big, caption="big")])
    build_site(one_part(tmp_path, section), tmp_path / "site", Provenance({}, **FIXED))
    page = (tmp_path / "site" / "part-b.html").read_text()
    width = Image.open(small).width
    assert re.search(rf'class="figure pixelated".*?width="{width * 4}"', page, re.S)
    assert 'width="900" height="300"' in page
    assert page.count("pixelated") == 1


def test_any_text_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    figure_file = digit_grid(tmp_path / "f.png", 1, 1, seed=1)
    table_file = tmp_path / "t.csv"
    table_file.write_text(f'"<img src=x onerror=alert(2)>",value\n"{evil}",1.5\n')
    section = SectionResult(
        figures=[
            Figure(figure_file, caption="Prompt {prompt:q}", alt=evil, values={"prompt": evil})
        ],
        tables=[Table(table_file, caption=evil)],
        notes=[evil],
    )
    manifest = one_part(tmp_path, section, backend=evil)
    manifest = Manifest([*manifest.parts, PartResult("A", not_run=evil)], title=evil, subtitle=evil)
    provenance = Provenance({"prompt": evil}, data_meta={evil: evil}, device=evil, **FIXED)
    build_site(manifest, tmp_path / "site", provenance)
    for page in (tmp_path / "site").glob("*.html"):
        text = page.read_text()
        assert "<script" not in text and "<img src=x" not in text, page.name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, page.name
    part = next((tmp_path / "site").glob("part-b-*.html")).read_text()
    assert "Prompt “&lt;script&gt;" in part and "&lt;img src=x onerror=alert(2)&gt;" in part
    assert 'alt="&lt;script&gt;alert(1)&lt;/script&gt;"' in part


def test_tables_show_the_rows_and_columns_asked_for(tmp_path):
    table = tmp_path / "scores.csv"
    table.write_text("item,view,p,extra\n" + "".join(
        f"{item},{view},0.{n},x\n" for n, (item, view) in enumerate(
            [("a_0", "identity"), ("a_0", "flip"), ("a_1", "identity"), ("b_0", "flip")])
    ))
    section = SectionResult(tables=[
        Table(table, caption="some", where={"item": ["a_0", "a_1"]}, columns=["item", "p"]),
        Table(table, caption="first", max_rows=2, labels={"p": "probability"}),
    ])
    build_site(one_part(tmp_path, section), tmp_path / "site", Provenance({}, **FIXED))
    page = (tmp_path / "site" / "part-b.html").read_text()
    first, second = re.findall(r"<table>.*?</table>", page, re.S)
    assert re.findall(r"<td>([ab]_\d)</td>", first) == ["a_0", "a_0", "a_1"]
    assert "extra" not in first and "identity" not in first and ">p</th>" in first
    assert re.findall(r"<td>([ab]_\d)</td>", second) == ["a_0", "a_0"]
    assert "probability</th>" in second
    assert "The first 2 of 4 rows; the CSV holds them all." in page
    assert page.count("holds them all") == 1
    assert page.count('href="figures/part-b/s-1-2/scores.csv"') == 2  # copied once
    with pytest.raises(ManifestError, match="no columns nothing"):
        bad = SectionResult(tables=[Table(table, caption="x", where={"nothing": ["1"]})])
        build_site(one_part(tmp_path, bad), tmp_path / "site2", Provenance({}, **FIXED))


def test_not_run_sections_give_the_reason(tmp_path):
    section = SectionResult(not_run="The noising rule is not part of the pipeline yet.")
    build_site(one_part(tmp_path, section), tmp_path / "site", Provenance({}, **FIXED))
    page = (tmp_path / "site" / "part-b.html").read_text()
    assert "<strong>Not run.</strong> The noising rule is not part of the pipeline yet." in page
    assert page.count('class="badge">not run') == len(PARTS[1].sections)


def test_benchmarks_table(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "train_time.tsv").write_text(
        header + "100.0\t0:01:40\t900.5\t2000\t1\t1\t0\t0\t50\t150\n"
        "200.0\t0:03:20\t1100.25\t2100\t1\t1\t0\t0\t50\t250\n"
    )
    (tmp_path / "noising.tsv").write_text(header + "3725.2\t1:02:05\tNA\t-\t-\t-\t-\t-\t-\t-\n")
    table = read_benchmarks([tmp_path / "train_time.tsv", tmp_path / "noising.tsv"])
    assert list(table["rule"]) == ["noising", "train_time"]
    assert list(table["wall time"]) == ["1:02:05", "0:02:30"]
    assert table["wall time (s)"].tolist() == [3725.2, 150.0]
    assert table["peak RSS (MB)"].isna().tolist() == [True, False]
    assert table["peak RSS (MB)"].iloc[1] == 1100.25
    assert table["CPU time (s)"].iloc[1] == 200.0
    assert table["repeats"].iloc[1] == 2
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="not a Snakemake benchmark"):
        read_benchmarks([bad])


def test_provenance_section(demo_site):
    index = (demo_site[0] / "index.html").read_text()
    provenance = index[index.index('id="provenance"') :]
    for text in ("train_time", "0:15:12", "noising_figure", "train_digits", "cpu_threads"):
        assert text in provenance
    assert "seed: 180" in provenance and "source: embedded" in provenance  # the config YAML
    assert re.search(r"<dt>python</dt><dd><code>3\.\d+", provenance)
    assert "<dt>snakemake</dt>" in provenance


def test_git_commit_and_date(tmp_path, monkeypatch):
    assert git_commit(tmp_path) == "not a git checkout"
    run = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*run, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("a")
    subprocess.run([*run, "add", "a.txt"], check=True)
    subprocess.run([*run, "commit", "-qm", "a"], check=True)
    head = subprocess.run([*run, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert git_commit(tmp_path) == head.strip()
    (tmp_path / "a.txt").write_text("b")
    assert git_commit(tmp_path) == head.strip() + " (with uncommitted changes)"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1732104000")
    site = build_site(
        one_part(tmp_path, SectionResult(notes=["n"])), tmp_path / "site", Provenance({})
    )
    assert "Built 2024-11-20 12:00 UTC" in site.read_text()


def test_publish_zip_is_deterministic(demo_site, tmp_path):
    site, _ = demo_site
    first = pack_zip(site, tmp_path / "one" / "report.zip")
    second = pack_zip(site, tmp_path / "two" / "report.zip")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert "report/index.html" in names and "report/static/site.css" in names
        assert all(n.startswith("report/") for n in names)
        assert not any(MARKER in n for n in names)
        assert zf.read("report/index.html") == (site / "index.html").read_bytes()
        files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
        assert {n.removeprefix("report/") for n in names} == files - {MARKER}


def test_publish_leaves_hidden_files_out(tmp_path):
    site = build_site(
        one_part(tmp_path, SectionResult(notes=["n"])), tmp_path / "site", Provenance({}, **FIXED)
    ).parent
    (site / ".snakemake_timestamp").write_text("")  # Snakemake marks directory outputs so
    assert oct(site.stat().st_mode & 0o777) != oct(0o700)  # not mkdtemp's private mode
    with zipfile.ZipFile(pack_zip(site, tmp_path / "site.zip")) as zf:
        assert sorted(zf.namelist()) == [
            "site/index.html",
            "site/part-b.html",
            "site/static/site.css",
        ]
    pages = pages_folder(site, tmp_path / "pages")
    assert sorted(p.name for p in pages.iterdir()) == sorted(
        [".nojekyll", MARKER, "index.html", "part-b.html", "static"]
    )


def test_publish_pages_folder(demo_site, tmp_path):
    site, _ = demo_site
    archive, pages = publish(site, archive=tmp_path / "r.zip", pages=tmp_path / "gh-pages")
    assert archive.is_file()
    assert (pages / ".nojekyll").is_file() and (pages / "index.html").is_file()
    (pages / "stale.html").write_text("old")
    pages_folder(site, pages)  # a second publish replaces the first
    assert not (pages / "stale.html").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        pages_folder(site, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError):
        publish(site)


def test_build_never_deletes_foreign_folders(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    manifest = one_part(tmp_path, SectionResult(notes=["n"]))
    with pytest.raises(FileExistsError):
        build_site(manifest, out, Provenance({}, **FIXED))
    assert (out / "thesis.tex").read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left


def test_manifest_round_trip(demo_site, tmp_path):
    _, manifest = demo_site
    for name in ("m.yaml", "m.json"):
        save_manifest(manifest, tmp_path / name)
        assert load_manifest(tmp_path / name).to_dict() == manifest.to_dict()
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["parts"][0]["not_run"].startswith("The DeepFloyd backend")


def test_yaml_section_keys_may_be_numbers(tmp_path):
    for part in PARTS:  # unquoted keys: 1.2 is a float, 0 an int, 1.2.1 and views strings
        sections = "".join(f"\n      {s.key}: {{not_run: r}}" for s in part.sections)
        text = f"parts:\n  - part: {part.key}\n    sections:{sections}\n"
        (tmp_path / "m.yaml").write_text(text)
        loaded = load_manifest(tmp_path / "m.yaml").parts[0].sections
        assert list(loaded) == [s.key for s in part.sections]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"parts": []}, "no parts"),
        ({"parts": [{"part": "C"}]}, "no part 'C'"),
        ({"parts": [{"part": "eval", "sections": {"nope": {}}}]}, "no section 'nope'"),
        ({"parts": [{"part": "eval"}]}, "section classifier: no figures"),
        ({"parts": [{"part": "eval", "not_run": "x", "sections": {"steps": {}}}]}, "lists"),
        ({"parts": [{"part": "eval", "colour": 1}]}, "unknown keys colour"),
        ({"parts": [{"part": "eval", "not_run": "x"}] * 2}, "share the page"),
        ({"parts": {"part": "eval"}}, "expected a list"),
        (
            {"parts": [{"part": "eval", "sections": {"steps": {"figures": [{"src": "a"}]}}}]},
            "exactly one of `kind` and `caption`",
        ),
    ],
)
def test_manifest_errors(data, message):
    with pytest.raises(ManifestError, match=re.escape(message)):
        Manifest.from_dict(data)


def test_build_errors_name_the_problem(tmp_path):
    figure = digit_grid(tmp_path / "f.png", 1, 1, seed=2)
    table = tmp_path / "t.csv"
    table.write_text("sigma,mse\n0.5,0.01\n")
    cases = [
        (Figure(tmp_path / "missing.png", caption="x"), "missing.png does not exist"),
        (Figure(tmp_path / "f.txt", caption="x"), "not an image or video"),
        (Figure(figure, caption="σ = {sigma}"), "no value 'sigma'"),
        (Figure(figure, caption="{x.__class__}", values={"x": 1}), "attribute access"),
        (Figure(figure, kind="nonsense"), "no caption of kind 'nonsense' (known: noising)"),
        (Table(table, caption="t", labels={"sigma": "σ", "psnr": "x"}), "no columns psnr"),
        (Table(tmp_path / "t.tsv", caption="t"), "is not a .csv table"),
    ]
    for item, message in cases:
        key = "tables" if isinstance(item, Table) else "figures"
        manifest = one_part(tmp_path, SectionResult(**{key: [item]}))
        with pytest.raises(ManifestError, match=re.escape(message)):
            build_site(manifest, tmp_path / "site", Provenance({}, **FIXED))
        assert not (tmp_path / "site").exists()


def test_caption_format():
    values = {"ts": [250, 500], "lr": 1e-4, "p": ["a dog", ""], "cfg": {"T": 300}, "n": None}
    assert fill("t = {ts}, lr {lr:g}", values, "x") == "t = 250, 500, lr 0.0001"
    assert fill("{p:q}", values, "x") == "“a dog”, “”"
    assert fill("T = {cfg[T]}, {n}", values, "x") == "T = 300, none"
    with pytest.raises(ManifestError, match="positional"):
        fill("{}", values, "x")
