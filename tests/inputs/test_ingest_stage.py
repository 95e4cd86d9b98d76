"""The `ingest` stage: inputs as paths, sorted globs and hub specs, checked before any work;
pages of every input in one atomic JSONL; counts by reason and pages by source in the metrics."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from inputs.sources import expand_inputs
from pipeline import stage
from pipeline.ingest import main as ingest_main
from tests.inputs.test_crawl_archive import arc_file, http, warc_record
from tests.inputs.test_crawl import CC_SAMPLE, WEB, needs_samples

ROOT = Path(__file__).resolve().parents[2]
LONG = ("<html><body><p>" + "Every quadratic equation has two roots, counted with multiplicity. " * 5
        + "</p></body></html>").encode()  # over params.yaml's min_chars


def crawl_dir(tmp_path: Path) -> Path:
    d = tmp_path / "crawl"
    d.mkdir()
    for i in (2, 1):
        records = [warc_record(http(LONG), f"https://e.org/{i}/{j}") for j in range(i)]
        (d / f"part-{i}.warc.gz").write_bytes(b"".join(gzip.compress(r) for r in records))
    (d / "old.arc.gz").write_bytes(gzip.compress(arc_file(pad=20)))
    return d


def run(tmp_path: Path, *inputs: str) -> tuple[list[dict], dict]:
    out, metrics = tmp_path / "out" / "pages.jsonl", tmp_path / "out" / "ingest.json"
    argv = ["--params", str(ROOT / "params.yaml"), "--out", str(out), "--metrics", str(metrics)]
    for value in inputs:
        argv += ["--input", value]
    ingest_main(argv)
    assert sorted(p.name for p in out.parent.iterdir()) == ["ingest.json", "pages.jsonl"]  # no temp left
    return [json.loads(line) for line in out.read_text().splitlines()], json.loads(metrics.read_text())


def test_globs_are_expanded_sorted_and_pages_counted_by_source(tmp_path: Path) -> None:
    d = crawl_dir(tmp_path)
    pages, metrics = run(tmp_path, str(d / "part-*.warc.gz"), str(d / "old.arc.gz"))
    assert [p["source"] for p in pages] == ["part-1.warc.gz", "part-2.warc.gz", "part-2.warc.gz", "old.arc.gz",
                                            "old.arc.gz"]
    assert metrics["by_source"] == {"old.arc.gz": 2, "part-1.warc.gz": 1, "part-2.warc.gz": 2}
    assert metrics["files"] == 3 and metrics["pages"] == 5 and metrics["records"] == 3 + 4
    assert metrics["type_filedesc"] == 1 and metrics["resource_not_html"] == 1


def test_inputs_that_name_nothing_fail_before_any_work(tmp_path: Path) -> None:
    d = crawl_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"input '.*/nothing-\*\.warc\.gz': the glob matches no file"):
        expand_inputs([str(d / "part-*.warc.gz"), str(d / "nothing-*.warc.gz")])
    with pytest.raises(FileNotFoundError, match=r"input '.*/missing\.warc\.gz': no such file"):
        expand_inputs([str(d / "missing.warc.gz")])
    with pytest.raises(ValueError, match=r"expected hf:NAME\[:CONFIG\]@SPLIT, got 'hf:org/name'"):
        expand_inputs(["hf:org/name"])
    (d / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt: unknown input format"):
        expand_inputs([str(d / "*")])
    assert expand_inputs(["hf:org/web:en@train", str(d / "part-*.warc.gz")]) == [
        "hf:org/web:en@train", str(d / "part-1.warc.gz"), str(d / "part-2.warc.gz")]


def test_stage_reports_an_input_that_names_nothing_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    d = crawl_dir(tmp_path)
    out = tmp_path / "out" / "pages.jsonl"
    with pytest.raises(SystemExit) as stop:
        stage.run(ingest_main, ["--params", str(ROOT / "params.yaml"), "--input", str(d / "part-1.warc.gz"),
                                "--input", str(d / "none-*"), "--out", str(out), "--metrics", str(tmp_path / "m.json")])
    assert stop.value.code == 1
    assert capsys.readouterr().err == f"error: input '{d / 'none-*'}': the glob matches no file\n"
    assert not out.exists()


def test_stage_on_real_samples(tmp_path: Path) -> None:
    needs_samples()
    pages, metrics = run(tmp_path, str(WEB / "whirlwind.warc.gz"), str(WEB / "whirlwind.warc.wet.gz"), str(CC_SAMPLE))
    assert metrics["files"] == 3 and metrics["pages"] == len(pages) == sum(metrics["by_source"].values())
    assert metrics["by_source"]["whirlwind.warc.gz"] == 1 and metrics["by_source"]["whirlwind.warc.wet.gz"] == 1
    assert pages[0]["source"] == "whirlwind.warc.gz" and all(set(p) == {"url", "text", "source"} for p in pages)


def test_from_params_reads_the_files_data_web_names(tmp_path: Path) -> None:
    """What dvc.yaml runs: the glob data.root/web.dir/web.glob from params.yaml."""
    d = crawl_dir(tmp_path)
    for name in ("gsm8k/test.jsonl", "math/test.jsonl", "math500/test.jsonl"):  # checked for real roles
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"]["root"] = str(tmp_path)
    raw["data"]["web"].update(source="files", dir=d.name, glob="part-*.warc.gz", hub=None, ingest=["web"])
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    out, metrics = tmp_path / "pages.jsonl", tmp_path / "ingest.json"
    ingest_main(["--params", str(params), "--from-params", "--out", str(out), "--metrics", str(metrics)])
    assert json.loads(metrics.read_text())["by_source"] == {"part-1.warc.gz": 1, "part-2.warc.gz": 2}
