"""The HTML report: one well-formed self-contained page holding the verdict, every check id,
metrics coloured by their threshold verdicts, spectrograms and players for every clip, the
key mapping and the config; hostile strings are escaped; the golden report fits its budget;
`validate --html` writes it and the JSON path never imports matplotlib."""

from __future__ import annotations

import copy
import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import torch

from conformance.audio.clips import load_reference
from conformance.checks.checkpoint.context import AUDIO_CLIPS, EXCERPT_SECONDS, Excerpt
from conformance.checks.engine import checkpoint_subject, run_subject
from conformance.checks.report import build_report
from conformance.cli.main import main as cli_main
from conformance.errors import InvalidArgument
from conformance.reporting.html import GOLDEN_BUDGET_BYTES, render_html, write_html_report
from conformance.testing.weights import random_model
from tests.checks.conftest import CFG, write

_VOID = {"meta", "img", "br", "col", "input", "link", "source", "hr", "wbr"}
HOSTILE_KEY = 'encoder.<script>alert("key")</script>'


class _Tags(HTMLParser):
    """Collects start tags with their attributes and checks that every tag closes in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def page(validated):
    report, media = validated
    return render_html(report, media)


def test_the_page_is_well_formed_and_needs_no_other_file(page):
    tags = _parse(page)
    assert tags.errors == [] and tags.stack == []
    names = {t for t, _ in tags.tags}
    assert not names & {"script", "link", "iframe", "object", "embed"}
    for tag, attrs in tags.tags:
        if "src" in attrs:
            assert attrs["src"].startswith("data:"), (tag, attrs["src"][:60])
        if "href" in attrs:
            assert attrs["href"].startswith("#"), (tag, attrs["href"])
    assert "url(" not in page and "@import" not in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page)


def test_the_verdict_comes_first(validated, page):
    report, _ = validated
    assert report["verdict"] == "not_conformant"
    verdict = page.index('id="verdict"')
    assert 'data-verdict="not_conformant"' in page[verdict:verdict + 120]
    assert page.index("Not conformant") < page.index('class="checks"')


def test_every_check_and_case_id_is_on_the_page(validated, page):
    report, _ = validated
    outcomes = report["subjects"][0]["outcomes"]
    assert len(outcomes) > 10
    for o in outcomes:
        assert f">{html.escape(o['id'])}<" in page, o["id"]
        assert f'data-check="{html.escape(o["check"])}"' in page
        assert o["reason"] and html.escape(o["reason"]) in page
    for area in ("load", "config", "audio"):
        assert f'<tr class="area"><th colspan="3">{area}<' in page


def test_metric_cells_are_coloured_by_their_threshold_verdicts(validated, page):
    report, _ = validated
    judged = [t["status"] for o in report["subjects"][0]["outcomes"]
              if o["check"] == "audio.quality" for t in o["details"].get("thresholds", [])]
    failing = [c for t, c in _parse(page).tags if t == "td" and "m bad" in c.get("class", "")]
    passing = [c for t, c in _parse(page).tags if t == "td" and "m ok" in c.get("class", "")]
    assert judged.count("failed") > 0  # random weights miss the golden thresholds
    assert [c["data-status"] for c in failing] == ["failed"] * judged.count("failed")
    assert len(passing) == judged.count("passed")
    # music has no threshold: its cells carry no verdict colour
    music = page[page.index('<td class="clip" rowspan="2">music_tabla'):]
    assert '<td class="m nv">' in music.split("</tr>")[0]


def test_every_clip_has_spectrograms_and_players(validated, page):
    _, media = validated
    clips = {e.clip for e in media[0]}
    assert clips == set(AUDIO_CLIPS)
    tags = _parse(page).tags
    images = [a for t, a in tags if t == "img"]
    audio = [a for t, a in tags if t == "audio"]
    assert len(images) == len(clips)
    assert all(a["src"].startswith("data:image/") for a in images)
    assert all("spectrograms of" in a["alt"] for a in images)
    assert len(audio) == 3 * len(clips)  # input, lowest and highest bandwidth
    assert all(a["src"].startswith("data:audio/") for a in audio)
    assert "decode @ 0.9 kbps" in page and "decode @ 1.8 kbps" in page


def test_mapping_config_provenance_and_versions_are_shown(validated, page):
    report, _ = validated
    sub = report["subjects"][0]
    assert "Key mapping" in page and f"<td>{sub['mapping']['mapped']}</td>" in page
    for field, source in sub["provenance"].items():
        assert f'<td class="mono">{field}</td>' in page and source in page
    env = report["environment"]
    assert f"torch <b>{html.escape(env['torch'])}</b>" in page
    assert html.escape(report["created"]) in page and report["tool"]["version"] in page


def test_hostile_key_names_and_reasons_are_escaped(tmp_path, validated):
    state = random_model(CFG, seed=21).state_dict()
    state[HOSTILE_KEY] = torch.zeros(3)
    subject = checkpoint_subject(write(tmp_path, state))
    outcomes = {o.id: o for o in run_subject(subject, select=lambda c: c.check.area == "load")}
    subject.context.close()
    assert HOSTILE_KEY in outcomes["load.keys"].observed  # the report does carry it
    report = build_report([subject])
    report["subjects"][0]["name"] = '<img src=x onerror="alert(1)">'
    report["subjects"][0]["outcomes"][0]["reason"] = "</td></tr></table><script>bad()</script>"
    page = render_html(report)
    assert "<script" not in page and "<img src=x" not in page
    assert html.escape(HOSTILE_KEY) in page
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;bad()" in page
    tags = _parse(page)
    assert tags.errors == [] and not any(t == "img" for t, _ in tags.tags)


def test_an_implementation_gets_its_check_table(validated):
    report = copy.deepcopy(validated[0])
    sub = report["subjects"][0]
    for key in ("format", "sha256", "config", "provenance", "mapping", "warnings"):
        sub.pop(key)
    sub.update(kind="implementation", name="mypkg:make@encodec_24khz", source="mypkg:make",
               family="encodec_24khz", tolerance="fp32: identical codes",
               unsupported={"chunking": "streams only"}, metrics=[])
    page = render_html(report)
    assert "mypkg:make@encodec_24khz" in page and "Not supported by the adapter" in page
    assert 'class="checks"' in page and "Listen and look" not in page
    assert all(html.escape(o["id"]) in page for o in sub["outcomes"])


def test_more_media_than_subjects_is_refused(validated):
    report, media = validated
    with pytest.raises(InvalidArgument, match="at most one per subject"):
        render_html(report, [media[0], media[0]])


def test_the_page_is_written_atomically(tmp_path, validated):
    report, _ = validated
    path = write_html_report(tmp_path / "out" / "report.html", report)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def _golden_shaped_media():
    """Excerpts shaped like the golden run's: each family's rate, channels and bandwidths, the
    reference clips as input and the input plus noise 30 dB down as the decode."""
    from conformance.checkpoints.load import load_checkpoint
    from conformance.golden.bundle import golden_checkpoints

    gen = torch.Generator().manual_seed(0)
    media = []
    for g in golden_checkpoints():
        model = load_checkpoint(g.checkpoint).model
        sr, n = model.sample_rate, int(EXCERPT_SECONDS * model.sample_rate)
        excerpts = []
        for clip in AUDIO_CLIPS:
            wav = load_reference(clip, sr, model.channels)[..., :n]
            noise = torch.randn(wav.shape, generator=gen) * wav.std() * 10 ** (-30 / 20)
            excerpts += [Excerpt(clip, bw, sr, 0.0, wav, wav + noise) for bw in model.bandwidths]
        media.append(excerpts)
    return media


@pytest.mark.slow
def test_a_golden_shaped_report_fits_the_size_budget(validated):
    media = _golden_shaped_media()
    report = copy.deepcopy(validated[0])
    report["subjects"] = [copy.deepcopy(report["subjects"][0]) for _ in media]
    page = render_html(report, media)
    size = len(page.encode("utf-8"))
    assert len(media) == 3 and page.count("<audio") >= 3 * len(AUDIO_CLIPS) * 2
    assert size <= GOLDEN_BUDGET_BYTES, f"{size / 1e6:.2f} MB"


def test_validate_html_writes_the_page_and_the_json(tmp_path, capsys):
    ckpt = write(tmp_path)
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    rc = cli_main(["validate", str(ckpt), "--check", "load", "--check", "config",
                   "--json", str(js), "--html", str(out)])
    assert rc == 0, capsys.readouterr()
    report = json.loads(js.read_text())
    page = out.read_text(encoding="utf-8")
    assert report["verdict"] == "conformant" and 'data-verdict="conformant"' in page
    assert all(html.escape(o["id"]) in page for o in report["subjects"][0]["outcomes"])


def test_validate_html_without_matplotlib_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "r.html"
    rc = cli_main(["validate", str(tmp_path / "never_read.th"), "--html", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "matplotlib" in err and "encodec-conformance[report]" in err
    assert not out.exists()


def test_the_json_path_does_not_import_matplotlib(tmp_path):
    ckpt = write(tmp_path)
    code = ("import sys\nfrom conformance.cli.main import main\n"
            f"rc = main(['validate', {str(ckpt)!r}, '--check', 'load', '--json', "
            f"{str(tmp_path / 'r.json')!r}])\n"
            "assert rc == 0, rc\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "r.json").exists()
