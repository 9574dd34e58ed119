"""`zhikong search` and `reindex` over a real archive: the index follows scan and watch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Run, as_json, invoke, watch_started

from zhikong.archive.samplefiles import make_docx, make_pdf, make_pptx, make_xlsx

INSPECTION = "院感质控中心/2025/2025-05-10 院感防控督查"


try:
    import tantivy
except ImportError:
    tantivy = None

ENGINES = [
    "whoosh",
    pytest.param("tantivy", marks=pytest.mark.skipif(tantivy is None, reason="tantivy not installed")),
]


def use_engine(root: Path, engine: str) -> None:
    """What a secretary writes in zhikong.toml to choose the search engine."""
    settings = root / "zhikong.toml"
    text = settings.read_text(encoding="utf-8").split("\n[search]")[0]
    settings.write_text(f'{text}\n[search]\nengine = "{engine}"\n', encoding="utf-8")


@pytest.fixture(params=ENGINES)
def filled(root: Path, run: Run, request: pytest.FixtureRequest) -> Path:
    use_engine(root, request.param)
    make_docx(
        root / INSPECTION / "反馈意见.docx",
        "院感防控督查反馈意见",
        ["开展院感防控督查后，请金乡县中医院限期整改手卫生问题。", "联系人 13853712345"],
    )
    make_docx(
        root / INSPECTION / "督查记录.docx",
        "院感防控督查记录",
        ["检查医疗废物处置。患者身份证号 370828198003151235。"],
    )
    make_pdf(
        root / "护理质控中心/2026/2026-06-12 二季度病例抽查/病历质量整改报告.pdf",
        [["护理病历质量整改报告", "病历书写不规范问题已整改"]],
    )
    make_pptx(
        root / "护理质控中心/2026/2026-03-15 第一次工作会议/课件.pptx", "护理质量控制要点", ["压力性损伤预防"]
    )
    make_xlsx(
        root / "护理质控中心/2026/2026-03-15 第一次工作会议/签到表.xlsx",
        "签到表",
        ["姓名", "单位"],
        [["王秀英", "金乡县人民医院"]],
    )
    run("scan")
    return root


def test_search_finds_subwords_synonyms_and_names_with_filters(filled: Path, run: Run) -> None:
    hits = as_json(run("search", "院感", "督查", "反馈", "--json"))
    assert hits[0]["path"] == f"{INSPECTION}/反馈意见.docx"
    assert {"path", "center", "year", "category", "title", "date", "score", "snippet"} <= set(hits[0])
    assert hits[0]["center"] == "院感质控中心" and hits[0]["year"] == 2025 and hits[0]["date"] == "2025-05-10"
    assert "【" in hits[0]["snippet"]
    # 质控 written by the user, 质量控制 in the file (and the other way round)
    assert any("课件.pptx" in h["path"] for h in as_json(run("search", "护理质控", "--json")))
    assert any("签到表.xlsx" in h["path"] for h in as_json(run("search", "王秀英", "--json")))
    assert as_json(run("search", "病案", "整改", "--json"))[0]["path"].endswith("病历质量整改报告.pdf")
    only_2026 = as_json(run("search", "整改", "--year", "2026", "--json"))
    assert only_2026 and all(h["year"] == 2026 for h in only_2026)
    typed = as_json(run("search", "督查", "--type", "inspection", "--category", "督查记录", "--json"))
    assert [h["path"] for h in typed] == [f"{INSPECTION}/督查记录.docx"]
    dated = as_json(run("search", "整改", "--from", "2026-01-01", "--to", "2026-12-31", "--json"))
    assert dated and all(h["date"].startswith("2026") for h in dated)


def test_personal_data_is_masked_and_flagged(filled: Path, run: Run) -> None:
    hits = as_json(run("search", "医疗废物", "--json"))
    assert hits[0]["pii"] is True
    assert "370828198003151235" not in hits[0]["snippet"] and "3708**********1235" in hits[0]["snippet"]
    out = run("search", "限期整改").output
    assert "13853712345" not in out and "【含个人信息】" in out
    flagged = {r["path"]: r["pii"] for r in as_json(run("ls", "--json"))}
    assert flagged[f"{INSPECTION}/督查记录.docx"] is True
    assert flagged["护理质控中心/2026/2026-03-15 第一次工作会议/课件.pptx"] is False


def test_changed_and_deleted_files_leave_the_index(filled: Path, run: Run) -> None:
    path = filled / INSPECTION / "反馈意见.docx"
    make_docx(path, "院感防控督查反馈意见（修订）", ["消毒供应室灭菌监测需加强。"])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 3_000_000_000))
    run("scan")
    assert not any(h["path"].endswith("反馈意见.docx") for h in as_json(run("search", "手卫生", "--json")))
    assert as_json(run("search", "灭菌监测", "--json"))[0]["path"].endswith("反馈意见.docx")
    path.unlink()
    run("scan")
    assert as_json(run("search", "灭菌监测", "--json")) == []
    shown = as_json(run("search", "灭菌监测", "--deleted", "--json"))
    assert shown[0]["state"] == "deleted"
    assert "已删除" in run("search", "灭菌监测", "--deleted").output


def test_bad_queries_get_clear_messages(filled: Path, run: Run) -> None:
    result = run("search", "，。！？", expect=2)
    assert "没有可检索的文字" in result.output
    for query in ('"院感', "院感*", "center:院感", "(督查", "院感 AND OR NOT"):
        run("search", query, "--json")
    assert run("search", "整改", "--from", "2026/02/30", expect=2).exit_code == 2
    assert "没有找到" in run("search", "完全不存在的词语组合甲乙丙").output


def test_reindex_rebuilds_from_stored_text_without_reading_files(
    filled: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    before = as_json(run("search", "院感", "--json"))
    for index_dir in (filled / ".zhikong").glob("index*"):
        shutil.rmtree(index_dir)

    def no_reading(path: Path) -> object:
        raise AssertionError(f"reindex read {path}")

    monkeypatch.setattr("zhikong.app.EXTRACT_IN_WORKER", False)  # read here, where the patch applies
    monkeypatch.setattr("zhikong.indexer.extract.extract_text", no_reading)
    assert "索引已重建：5 条" in run("reindex").output
    assert as_json(run("search", "院感", "--json")) == before


@pytest.mark.skipif(tantivy is None, reason="tantivy not installed")
def test_reindex_moves_the_archive_to_the_engine_the_settings_name(root: Path, run: Run) -> None:
    make_docx(root / INSPECTION / "反馈意见.docx", "院感防控督查反馈意见", ["请限期整改手卫生问题。"])
    make_docx(root / INSPECTION / "督查记录.docx", "院感防控督查记录", ["检查医疗废物处置。"])
    run("scan")
    before = [h["path"] for h in as_json(run("search", "院感", "督查", "--json"))]
    assert len(before) == 2
    use_engine(root, "tantivy")
    refused = run("search", "院感", expect=None)
    assert refused.exit_code != 0 and "tantivy" in refused.output and "zhikong reindex" in refused.output
    assert "索引已重建：2 条" in run("reindex").output
    assert [h["path"] for h in as_json(run("search", "院感", "督查", "--json"))] == before
    assert (root / ".zhikong" / "index-tantivy").is_dir() and not (root / ".zhikong" / "index").exists()
    make_docx(root / INSPECTION / "整改报告.docx", "整改报告", ["手卫生整改已完成。"])
    run("scan")  # new files go into the engine in use
    assert as_json(run("search", "整改报告", "--json"))[0]["path"].endswith("整改报告.docx")
    use_engine(root, "whoosh")
    run("reindex")
    assert as_json(run("search", "整改报告", "--json"))[0]["path"].endswith("整改报告.docx")
    assert not (root / ".zhikong" / "index-tantivy").exists()
    use_engine(root, "lucene")
    assert "whoosh" in run("search", "院感", expect=None).output


def test_a_file_dropped_under_watch_is_searchable_within_seconds(root: Path, runner: CliRunner) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhikong.cli", "--root", str(root), "watch", "--stable", "0.5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not watch_started(root):
            time.sleep(0.05)
        make_docx(
            root / "护理质控中心/2026/2026-09-01 护理安全专项行动/专项行动通知.docx",
            "关于开展护理安全专项行动的通知",
            ["重点检查高警示药品管理。"],
        )
        written = time.monotonic()
        found = []
        while time.monotonic() - written < 10 and not found:
            found = as_json(invoke(runner, "--root", str(root), "search", "高警示药品", "--json"))
            time.sleep(0.1)
        assert found and found[0]["category"] == "通知"
        assert time.monotonic() - written < 8  # generous under CI load; bench/ measures the real figure
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_reread_picks_up_files_that_could_not_be_read_before(
    root: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhikong.indexer.extract import Extraction, ExtractStatus, extract_text

    make_docx(root / INSPECTION / "督查记录.docx", "院感防控督查记录", ["消毒供应中心清洗质量不合格。"])

    def missing_component(path: Path) -> Extraction:
        return Extraction(ExtractStatus.UNSUPPORTED, reason="需要 LibreOffice（测试中模拟未安装）")

    monkeypatch.setattr("zhikong.app.EXTRACT_IN_WORKER", False)  # read here, where the patch applies
    monkeypatch.setattr("zhikong.indexer.extract.extract_text", missing_component)
    run("scan")
    assert as_json(run("ls", "--json"))[0]["extract_status"] == "unsupported"
    assert as_json(run("search", "清洗质量", "--json")) == []
    monkeypatch.setattr("zhikong.indexer.extract.extract_text", extract_text)
    assert "重新读取了 1 个文件" in run("reindex", "--reread").output
    assert as_json(run("ls", "--json"))[0]["extract_status"] == "ok"
    assert as_json(run("search", "清洗质量", "--json"))[0]["path"].endswith("督查记录.docx")


def test_an_index_failure_is_retried_by_the_next_scan(
    root: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhikong.app import IndexSink
    from zhikong.indexer.index import IndexBusy

    make_docx(root / INSPECTION / "督查记录.docx", "院感防控督查记录", ["抽查手术安全核查表填写情况。"])
    real = IndexSink.upsert

    def busy(self: IndexSink, records: list) -> None:
        raise IndexBusy("检索索引正被另一个 zhikong 进程写入")

    monkeypatch.setattr(IndexSink, "upsert", busy)
    data = as_json(run("scan", "--json"))
    assert data["added"] == 1 and data["errors"] == 1
    assert "下次核对时补上" in data["error_details"][0]["message"]
    monkeypatch.setattr(IndexSink, "upsert", real)
    assert as_json(run("search", "手术安全核查", "--json")) == []
    assert as_json(run("scan", "--json"))["errors"] == 0
    assert as_json(run("search", "手术安全核查", "--json"))[0]["path"].endswith("督查记录.docx")


def test_relative_years_in_a_query_become_a_year_filter(root: Path, run: Run) -> None:
    this_year = date.today().year
    for year in (this_year - 1, this_year):
        make_docx(
            root / f"院感质控中心/{year}/{year}-05-10 院感防控督查/反馈意见.docx",
            f"{year}年院感督查反馈意见",
            ["请各单位限期整改手卫生问题。"],
        )
    run("scan")
    last_year = as_json(run("search", "去年院感督查的反馈意见", "--json"))
    assert last_year and {h["year"] for h in last_year} == {this_year - 1}
    assert {h["year"] for h in as_json(run("search", "今年", "院感", "反馈", "--json"))} == {this_year}
    assert {h["year"] for h in as_json(run("search", "院感", "反馈", "--json"))} == {this_year - 1, this_year}
