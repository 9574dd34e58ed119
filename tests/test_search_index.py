"""The search façade through its public API, on a small index built in each test."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from whoosh import index as windex
from whoosh.fields import ID, STORED, TEXT, Schema

from zhikong.errors import ExitCode
from zhikong.indexer.analysis import analyzer
from zhikong.indexer.index import IndexDoc, IndexOutdated, QueryError, SearchFilters, SearchIndex
from zhikong.indexer.pii import find_pii, has_pii, mask_pii

try:
    import tantivy
except ImportError:
    tantivy = None


def _doc(record_id: int, text: str, **kw: object) -> IndexDoc:
    base: dict[str, object] = {
        "record_id": record_id,
        "path": f"测试中心/2026/记录{record_id}.docx",
        "center": "测试中心",
        "year": 2026,
        "category": "其他",
        "activity": "",
        "activity_type": "",
        "date": None,
        "title": f"记录{record_id}",
        "text": text,
    }
    base.update(kw)
    return IndexDoc(**base)  # type: ignore[arg-type]


ENGINES = [
    "whoosh",
    pytest.param("tantivy", marks=pytest.mark.skipif(tantivy is None, reason="tantivy not installed")),
]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every behaviour below holds on both engines behind the façade."""
    return str(request.param)


@pytest.fixture
def index(tmp_path: Path, engine: str) -> Iterator[SearchIndex]:
    ix = SearchIndex.open(tmp_path / "index", engine=engine)
    yield ix
    ix.close()


def _ids(ix: SearchIndex, query: str, filters: SearchFilters | None = None) -> list[int]:
    return [h.record_id for h in ix.search(query, filters or SearchFilters())]


def _add(ix: SearchIndex, *docs: IndexDoc) -> None:
    with ix.writer() as w:
        for d in docs:
            w.upsert(d)


def test_subword_match(index: SearchIndex) -> None:
    _add(index, _doc(1, "5月10日开展院感防控督查。"), _doc(2, "召开护理质控工作会议。"))
    assert _ids(index, "院感防控") == [1]


def test_synonym_abbreviation_finds_full_form(index: SearchIndex) -> None:
    _add(index, _doc(1, "护理质量控制中心年度工作计划"), _doc(2, "手术室设备清单"))
    assert _ids(index, "质控") == [1]


def test_synonym_full_form_finds_abbreviation(index: SearchIndex) -> None:
    _add(index, _doc(1, "院感科对重点科室进行检查"), _doc(2, "药事管理会议"))
    assert _ids(index, "医院感染") == [1]
    assert _ids(index, "感控") == [1]


def test_synonym_inside_longer_word(index: SearchIndex) -> None:
    _add(index, _doc(1, "县质量控制中心全体成员"), _doc(2, "县人民医院全体成员"))
    assert _ids(index, "质控中心")[0] == 1


def test_phrase_query(index: SearchIndex) -> None:
    _add(index, _doc(1, "整改期限为一个月，病历书写规范"), _doc(2, "病历书写整改期限"))
    assert _ids(index, '"书写整改"') == [2]


def test_more_matching_words_rank_first(index: SearchIndex) -> None:
    _add(
        index,
        _doc(1, "整改" * 20),  # high term frequency for one word only
        _doc(2, "病历质量问题的整改报告"),
        _doc(3, "病历质量分析"),
    )
    hits = index.search("病历质量 整改")
    assert hits[0].record_id == 2
    assert set(h.record_id for h in hits) == {1, 2, 3}
    assert hits[0].score > hits[1].score


def test_missing_word_does_not_empty_results(index: SearchIndex) -> None:
    _add(index, _doc(1, "院感督查反馈意见"), _doc(2, "护理培训通知"))
    assert _ids(index, "院感 督查 反馈 火星") == [1]


def test_typed_sentence(index: SearchIndex) -> None:
    _add(
        index,
        _doc(1, "关于院感督查发现问题的反馈意见", category="反馈意见"),
        _doc(2, "院感培训签到表", category="签到表"),
    )
    assert _ids(index, "去年院感督查的反馈意见")[0] == 1


def test_title_and_activity_are_searched(index: SearchIndex) -> None:
    _add(index, _doc(1, "正文无关", activity="2026-04-20 一季度病例抽查"), _doc(2, "正文无关"))
    assert _ids(index, "病例抽查") == [1]


def test_filters(index: SearchIndex) -> None:
    _add(
        index,
        _doc(
            1,
            "督查记录",
            center="院感质控中心",
            year=2025,
            date=dt.date(2025, 5, 1),
            activity_type="inspection",
        ),
        _doc(
            2, "督查记录", center="护理质控中心", year=2026, date=dt.date(2026, 5, 1), activity_type="meeting"
        ),
        _doc(3, "督查记录", center="护理质控中心", year=2026, category="反馈意见", date=dt.date(2026, 7, 1)),
    )
    assert sorted(_ids(index, "督查")) == [1, 2, 3]
    assert _ids(index, "督查", SearchFilters(center="院感质控中心")) == [1]
    assert sorted(_ids(index, "督查", SearchFilters(year=2026))) == [2, 3]
    assert _ids(index, "督查", SearchFilters(category="反馈意见")) == [3]
    assert _ids(index, "督查", SearchFilters(activity_type="meeting")) == [2]
    window = SearchFilters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 6, 30))
    assert _ids(index, "督查", window) == [2]
    assert sorted(_ids(index, "督查", SearchFilters(date_from=dt.date(2026, 6, 1)))) == [3]


def test_upsert_replaces_old_text(index: SearchIndex) -> None:
    _add(index, _doc(1, "旧版本：麻醉质控会议"))
    _add(index, _doc(1, "新版本：检验质控会议"))
    assert _ids(index, "麻醉") == []
    assert _ids(index, "检验") == [1]
    assert index.doc_count() == 1


def test_delete_and_deleted_state(index: SearchIndex) -> None:
    _add(index, _doc(1, "输血质控督查"), _doc(2, "输血质控会议", state="deleted"))
    assert _ids(index, "输血") == [1]
    assert sorted(_ids(index, "输血", SearchFilters(include_deleted=True))) == [1, 2]
    with index.writer() as w:
        w.delete(1)
    assert _ids(index, "输血") == []


def test_failed_write_batch_commits_nothing(index: SearchIndex) -> None:
    with pytest.raises(RuntimeError), index.writer() as w:
        w.upsert(_doc(1, "不应出现的文字"))
        raise RuntimeError("boom")
    assert index.doc_count() == 0


def test_rebuild_replaces_everything(index: SearchIndex) -> None:
    _add(index, _doc(1, "旧索引内容"))
    assert index.rebuild([_doc(2, "重建后的内容"), _doc(3, "另一条")]) == 2
    assert index.doc_count() == 2
    assert _ids(index, "旧索引") == []
    assert _ids(index, "重建") == [2]


def test_snippet_highlights_and_masks_pii(index: SearchIndex) -> None:
    text = "患者王某，身份证号370828199001011233，电话13812345678，院感督查发现问题。"
    _add(index, _doc(1, text, pii=True))
    hit = index.search("院感督查")[0]
    assert "【院感督查】" in hit.snippet
    assert "370828199001011233" not in hit.snippet and "3708**********1233" in hit.snippet
    assert "13812345678" not in hit.snippet and "138****5678" in hit.snippet
    assert hit.pii is True


def test_punctuation_only_query_is_an_error(index: SearchIndex) -> None:
    with pytest.raises(QueryError) as err:
        index.search("，。！？ …")
    assert err.value.exit_code == ExitCode.USAGE
    assert "检索" in err.value.message


@pytest.mark.parametrize(
    "query", ['"', "*", "院感:督查", "(院感", "院感 AND OR NOT", '"未闭合', "督查*", "a^2~"]
)
def test_syntax_characters_are_plain_words(index: SearchIndex, query: str) -> None:
    _add(index, _doc(1, "院感督查 and or not"))
    if query in ('"', "*"):
        with pytest.raises(QueryError):
            index.search(query)
    else:
        assert isinstance(index.search(query), list)
    assert _ids(index, "院感:督查") == [1]


def test_hit_fields(index: SearchIndex) -> None:
    _add(index, _doc(7, "病案首页质量", date=dt.date(2026, 3, 5), activity_type="case_review"))
    hit = index.search("病案首页")[0]
    assert (hit.record_id, hit.center, hit.year, hit.category) == (7, "测试中心", 2026, "其他")
    assert (hit.date, hit.activity_type, hit.state, hit.title) == (
        dt.date(2026, 3, 5),
        "case_review",
        "active",
        "记录7",
    )
    assert hit.path == "测试中心/2026/记录7.docx"


def test_custom_synonym_file(tmp_path: Path, engine: str) -> None:
    syn = tmp_path / "syn.txt"
    syn.write_text("# 自定义\n回头看 复查\n", encoding="utf-8")
    ix = SearchIndex.open(tmp_path / "ix", synonyms=syn, engine=engine)
    _add(ix, _doc(1, "整改复查记录"), _doc(2, "质控会议纪要"))
    assert _ids(ix, "回头看") == [1]
    assert _ids(ix, "质量控制") == []  # the shipped list is replaced: 质控 ↔ 质量控制 no longer applies
    ix.close()


def test_relevance_orders_records_matching_the_same_words(index: SearchIndex) -> None:
    # More records match every word than the result pool holds, so most are ruled out by their BM25
    # before it is summed in full: the strongest must still come first, and the filter must still hold.
    filler = "各单位要高度重视，明确专人负责，确保各项工作落到实处。" * 3
    # Every record has both words in its text; every 12th also has 督查 in its title, which weighs more.
    docs = [
        _doc(i, f"院感督查{filler}", year=2025 + i % 2, title=f"督查记录{i}" if i % 12 == 0 else f"记录{i}")
        for i in range(1, 121)
    ]
    docs[71] = _doc(72, f"院感督查{'院感督查' * 6}{filler}", year=2025, title="督查记录72")
    _add(index, *docs)
    assert _ids(index, "院感 督查")[:10] == [72, *(i for i in range(12, 121, 12) if i != 72)]
    assert len(index.search("院感 督查", limit=100)) == 100
    in_2025 = index.search("院感 督查", SearchFilters(year=2025), limit=100)
    assert {h.record_id for h in in_2025} == set(range(2, 121, 2))


def test_index_from_an_earlier_layout_asks_for_reindex(tmp_path: Path) -> None:
    # The layout before 2026-11 (positions stored for phrase queries), as an older zhikong wrote it.
    text = TEXT(analyzer=analyzer(), phrase=True)
    old = Schema(record_id=ID(stored=True, unique=True), content=text, meta=text, center=ID(stored=True),
                 year=ID(stored=True), category=ID(stored=True), activity_type=ID(stored=True),
                 date=ID(stored=True), state=ID(stored=True), path=STORED, activity=STORED, title=STORED,
                 pii=STORED, body=STORED)  # fmt: skip
    (tmp_path / "ix").mkdir()
    windex.create_in(str(tmp_path / "ix"), old).close()
    ix = SearchIndex.open(tmp_path / "ix")
    _add(ix, _doc(1, "院感督查记录"))  # the watcher keeps writing until the user rebuilds
    with pytest.raises(IndexOutdated) as err:
        ix.search("院感督查")
    assert err.value.exit_code == ExitCode.CONFLICT
    assert "zhikong reindex" in str(err.value)
    assert ix.rebuild([_doc(1, "院感督查记录"), _doc(2, "护理会议")]) == 2
    assert _ids(ix, "院感督查") == [1]
    ix.close()
    reopened = SearchIndex.open(tmp_path / "ix")
    assert _ids(reopened, "院感督查") == [1]
    reopened.close()


# --- personal data ------------------------------------------------------------------------------------


def test_id_card_needs_valid_check_digit() -> None:
    assert [m.text for m in find_pii("号码 11010519491231002X 与 110105194912310021")] == [
        "11010519491231002X"
    ]


def test_mobile_not_inside_longer_digits() -> None:
    assert [m.text for m in find_pii("电话13912345678，单号2013912345678999")] == ["13912345678"]


def test_mask_pii() -> None:
    assert mask_pii("身份证370828199001011233 手机13812345678") == "身份证3708**********1233 手机138****5678"
    assert has_pii("13812345678") and not has_pii("12812345678")


def test_a_batch_commit_never_merges_and_compact_merges_when_idle(index: SearchIndex) -> None:
    """What made an upload or a watched file wait behind the lock (issue 19): a commit that merged the
    segments of earlier batches. Each batch is a segment of its own until the archive is idle."""
    counts = []
    for batch in range(10):  # a first scan commits in batches
        _add(index, *(_doc(batch * 50 + i, f"院感督查 第{batch}批 记录{i}") for i in range(50)))
        counts.append(index.segment_count())
    _add(index, _doc(99_999, "上传的签到表"))  # an upload: one more small segment, nothing rewritten
    assert counts == list(range(1, 11)) and index.segment_count() == 11
    assert index.compact()  # idle: the small segments merged
    assert index.segment_count() < 11 and index.doc_count() == 501
    assert _ids(index, "上传的签到表") == [99_999] and len(_ids(index, "院感督查")) == 20


def test_rebuild_streams_into_segments_of_a_bounded_pool(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoosh writes a segment whenever its sorting pool fills (never spilling it to disk), and commits
    them all at once; the old documents are gone, the new ones all found."""
    monkeypatch.setattr("zhikong.indexer.index._SEGMENT_POOL_BYTES", 80_000)
    _add(index, _doc(1, "旧的记录"))
    docs = (_doc(i, f"院感督查记录{i}号，" + "质控" * 50) for i in range(2, 300))  # read as it goes
    assert index.rebuild(docs) == 298
    assert index.doc_count() == 298 and _ids(index, "旧的记录") == []
    assert _ids(index, "记录42号")[0] == 42 and len(_ids(index, "院感督查")) == 20
    if index.engine == "whoosh":  # segments of the same size merge when idle, a bounded step at a time
        before = index.segment_count()
        assert before > 6 and index.compact() and index.segment_count() < before
        assert _ids(index, "记录42号")[0] == 42 and index.doc_count() == 298


def test_a_simplified_query_finds_traditional_text_and_marks_it(index: SearchIndex) -> None:
    """Texts from Hong Kong, Macao or Taiwan, converted files, OCR of old print: folded to simplified
    characters at index and query time (OpenCC's data), one character for one, so snippets mark them."""
    _add(
        index,
        _doc(1, "上蔡縣人民醫院病歷質量督查報告：發現病歷書寫不規範。"),
        _doc(2, "護理質控中心工作會議"),
    )
    hits = index.search("上蔡县人民医院 病历")
    assert [h.record_id for h in hits] == [1]
    assert "【上蔡縣人民醫院病歷】" in hits[0].snippet and "發現【病歷】書寫" in hits[0].snippet
    assert _ids(index, "護理") == [2]  # and a traditional query finds it too


def test_a_word_broken_across_lines_is_found_as_written(index: SearchIndex) -> None:
    _add(index, _doc(1, "开展整改“回头\n看”工作，核查整改落实"), _doc(2, "回头再看这份材料"))
    assert _ids(index, "回头看") == [1, 2]  # as written (across the line) first, then in part
    assert _ids(index, '"回头看"') == [1]


def test_a_word_found_only_in_part_still_comes_after_those_holding_it(index: SearchIndex) -> None:
    """视频会议 written 会议视频 (another word order) is found — never fewer records than a bigram search —
    but after every record holding the word as written; a quoted phrase stays exact."""
    _add(
        index,
        _doc(1, "召开全县护理质控视频会议"),
        _doc(2, "会议视频已上传至工作群"),
        _doc(3, "院感防控督查记录"),
    )
    assert _ids(index, "视频会议") == [1, 2]
    assert _ids(index, '"视频会议"') == [1]
    assert _ids(index, "技能竞赛") == []  # no bigram of it anywhere: nothing


def test_a_short_name_the_dictionary_splits_is_searched_whole(index: SearchIndex) -> None:
    """段美丽 segments as 段 / 美丽 and lost its surname: pages about 美丽中国 came first (real-text evaluation)."""
    _add(
        index,
        _doc(1, "在美丽的翠湖北岸召开年会"),
        _doc(2, "建设美丽中国的重要体现"),
        _doc(3, "在重症医学科主任段美丽教授的主持下进行"),
    )
    assert _ids(index, "段美丽")[0] == 3


def test_record_ids_and_documents_list_what_the_index_holds(index: SearchIndex) -> None:
    """What `zhikong doctor` and a scan compare with the catalogue, on either engine."""
    _add(index, _doc(1, "院感督查"), _doc(2, "护理会议", state="deleted"), _doc(3, "病历质控"))
    with index.writer() as w:
        w.delete(3)
    assert index.record_ids() == {1, 2} and index.doc_count() == 2
    assert index.documents() == {
        1: ("测试中心/2026/记录1.docx", "active"),
        2: ("测试中心/2026/记录2.docx", "deleted"),
    }


def test_ranking_over_a_pool_of_many_records(index: SearchIndex) -> None:
    """More records than the ranking's pool (60) hold a query word: tantivy ranks them in one query of its
    own, Whoosh through indexer.ranking; records holding more of the words first, filters and deleted
    records respected on both."""
    docs = [_doc(i, f"院感督查记录第{i}号，" + "督查" * (i % 7 + 1)) for i in range(1, 101)]
    docs += [_doc(200 + i, f"院感督查反馈意见第{i}号", center="护理中心") for i in range(5)]
    docs.append(_doc(300, "督查反馈 已删除的记录", state="deleted"))
    _add(index, *docs)
    found = _ids(index, "督查 反馈")
    assert sorted(found[:5]) == [200, 201, 202, 203, 204] and 300 not in found and len(found) == 20
    assert len(_ids(index, "督查", SearchFilters(include_deleted=True))) == 20
    assert 300 in _ids(index, "反馈", SearchFilters(include_deleted=True))
    nursing = _ids(index, "督查", SearchFilters(center="护理中心"))
    assert sorted(nursing) == [200, 201, 202, 203, 204]
    many = _ids(index, "督查", SearchFilters(center="测试中心"))
    assert len(many) == 20 and all(i <= 100 for i in many)
    # results come in descending score order (the coordination level, then BM25) on both engines
    scores = [h.score for h in index.search("院感督查", limit=30)]
    assert scores == sorted(scores, reverse=True)


def test_whoosh_merges_while_a_batch_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The idle merge writes without the write lock: a watched file committed meanwhile is not kept
    waiting, and what that commit deleted or replaced in the merged segments stays deleted."""
    from zhikong.indexer import index as module

    ix = SearchIndex.open(tmp_path / "ix")
    for batch in range(8):
        _add(ix, *(_doc(batch * 10 + i, f"院感督查 记录{batch * 10 + i}号") for i in range(10)))
    merged = module._merge_segments

    def commit_meanwhile(merger: object, readers: list[object]) -> object:
        segment = merged(merger, readers)
        with ix.writer() as w:  # would wait 30 s and fail if the merge held the lock
            w.delete(3)
            w.upsert(_doc(5, "改写后的整改报告"))
        return segment

    monkeypatch.setattr(module, "_merge_segments", commit_meanwhile)
    assert ix.compact() and ix.segment_count() < 9
    assert not list((tmp_path / "ix").glob("merge-*"))  # its working folder is gone
    assert ix.doc_count() == 79 and 3 not in ix.record_ids()
    assert 3 not in _ids(ix, "记录3号") and 5 not in _ids(ix, "记录5号") and _ids(ix, "整改报告") == [5]
    assert _ids(ix, "记录4号")[0] == 4 and _ids(ix, "记录74号")[0] == 74
    assert len(_ids(ix, "院感督查", SearchFilters())) == 20


def test_a_second_writer_waits_then_is_told_the_index_is_busy(
    tmp_path: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhikong.indexer.index import IndexBusy

    monkeypatch.setattr("zhikong.indexer.index._LOCK_TIMEOUT_S", 0.3)
    monkeypatch.setattr("zhikong.indexer.engine_tantivy._LOCK_TIMEOUT_S", 0.3)
    first = SearchIndex.open(tmp_path / "ix", engine=engine)
    second = SearchIndex.open(tmp_path / "ix", engine=engine)
    with first.writer() as w:
        w.upsert(_doc(1, "院感督查"))
        with pytest.raises(IndexBusy, match="正被另一个 zhikong 进程写入"), second.writer() as other:
            other.upsert(_doc(2, "护理会议"))
    _add(second, _doc(2, "护理会议"))  # free again once the first has committed
    assert sorted(second.record_ids()) == [1, 2]


def test_records_over_segments_with_deletions_are_found_as_themselves(index: SearchIndex) -> None:
    """Document numbers are dense over a generation's segments on both engines (indexer.ranking works on
    arrays indexed by them): records written in several batches, some deleted or rewritten in between,
    are found exactly, the records holding both words first, each hit carrying its own record's fields."""
    words = ["督查", "反馈", "整改", "院感", "输血", "护理"]
    texts = {
        i: f"第{i}号记录：" + " ".join(words[j] * (1 + (i * j) % 3) for j in range(6) if (i >> j) & 1)
        for i in range(1, 121)
    }
    for start in (1, 41, 81):  # three batches: three segments
        _add(index, *(_doc(i, texts[i]) for i in range(start, start + 40)))
    with index.writer() as w:
        for i in range(6, 120, 9):
            w.delete(i)
            del texts[i]
        texts[50] = "第50号记录（改）：输血 护理护理"
        w.upsert(_doc(50, texts[50]))
    for _merged in (False, True):  # as written, then merged into one segment (deleted records left out)
        nursing = index.search("护理", limit=200)
        assert {h.record_id for h in nursing} == {i for i, t in texts.items() if "护理" in t}
        for hit in nursing:
            assert f"第{hit.record_id}号记录" in hit.snippet.replace("【", "").replace("】", "")
        both = {i for i, t in texts.items() if "输血" in t and "院感" in t}
        found = [h.record_id for h in index.search("输血 院感", limit=200)]
        assert set(found[: len(both)]) == both and set(found) == {
            i for i, t in texts.items() if "输血" in t or "院感" in t
        }
        rewritten = index.search("第50号记录")
        assert rewritten[0].record_id == 50 and "（改）" in rewritten[0].snippet
        assert index.record_ids() == set(texts)
        while index.compact():
            pass


def test_whoosh_reads_its_segments_where_they_lie(tmp_path: Path) -> None:
    """Opening the index to search, or to commit a file (an update first looks up the document it
    replaces), reads the memory-mapped segments in place: Whoosh itself copied every part of every segment
    into memory, so each watched file's commit cost memory and time in proportion to the whole index."""
    import random
    import tracemalloc

    rng = random.Random(5)
    words = ["院感", "督查", "反馈", "整改", "护理", "质控", "会议", "病历", "抽查", "输血", "麻醉", "培训"]
    ix = SearchIndex.open(tmp_path / "ix")
    for batch in range(3):
        _add(ix, *(_doc(batch * 100 + i, "".join(rng.choices(words, k=1500))) for i in range(100)))
    size = sum(f.stat().st_size for f in (tmp_path / "ix").iterdir() if f.is_file())
    ix.close()
    ix = SearchIndex.open(tmp_path / "ix")
    peaks = []
    for step in (lambda: _add(ix, _doc(1000, "新的督查记录")), lambda: ix.search("院感 督查")):
        tracemalloc.start()
        try:
            step()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    ix.close()
    assert size > 500_000 and peaks[0] < 0.6 * size and peaks[1] < 1.5 * size, (size, peaks)


@pytest.mark.skipif(tantivy is None, reason="tantivy not installed")
def test_tantivy_sees_a_commit_made_within_the_same_clock_tick(tmp_path: Path) -> None:
    """A search after a deletion reads the new generation even when the commit left meta.json with the
    same modification time (two commits within the filesystem's clock tick): it once answered from the
    generation before the deletion, now and then."""
    ix = SearchIndex.open(tmp_path / "ix", engine="tantivy")
    _add(ix, _doc(1, "输血质控督查"), _doc(2, "输血质控会议"))
    meta = tmp_path / "ix" / "meta.json"
    assert sorted(_ids(ix, "输血")) == [1, 2]
    before = meta.stat()
    with ix.writer() as w:
        w.delete(1)
    os.utime(meta, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert _ids(ix, "输血") == [2]
    ix.close()
