"""funnel bulletin on the seed data through the real broker: the figures read back from the DOCX and from
the PDF's text equal the replay's summary, the topic gives the same document as the replay directory, and
a page rendered to PNG shows text and charts."""

from __future__ import annotations

import io
import json
import re
import subprocess

import pytest
from docx import Document as read_docx

from streams import synthetic
from streams.documents import chinese as zh
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration
PERIOD = "2024-Q4"


def docx_text(path) -> tuple[list[str], list[list[list[str]]]]:
    word = read_docx(path)
    return [p.text for p in word.paragraphs], [[[c.text for c in row.cells] for row in t.rows] for t in word.tables]


def table(tables, header: str) -> dict[str, list[str]]:
    """A table of the DOCX whose first header cell is ``header``, as first column → row."""
    found = next(t for t in tables if t[0][0] == header)
    return {row[0]: row for row in found[1:]}


def dark_share(png: bytes) -> float:
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3].mean(axis=2)
    return float((pixels < 0.6).mean())


@pytest.fixture(scope="module")
def seeded(bootstrap, tmp_path_factory):
    import uuid

    from streams.kafkaio.topics import ensure_topics, event_topics

    work = tmp_path_factory.mktemp("bulletin")
    topic = f"events-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, event_topics(topic))
    feed = work / "seed.jsonl"
    synthetic.generate_file(feed, projects=600, seed=2023)
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    out = work / "replay"
    funnel("replay", "--topic", topic, "--as-of", "2024-12-31", "--out", str(out), bootstrap=bootstrap)
    return topic, out, work


def test_the_bulletin_reads_back_the_replays_figures(bootstrap, seeded):
    topic, out, work = seeded
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    done = json.loads(funnel("bulletin", "--period", PERIOD, "--source", str(out), "--out", str(work / "b"),
                             "--format", "docx,pdf,html", "--json", bootstrap=bootstrap).stdout)
    assert done["period"] == "2024Q4" and set(done["files"]) >= {"docx", "pdf", "html"}
    paragraphs, tables = docx_text(done["files"]["docx"])
    assert paragraphs[0] == "二七区招商引资项目2024年第四季度通报"
    assert paragraphs[1] == "（数据截至2024年12月31日）"

    flows = summary["flows"]["2024"]
    headline = table(tables, "指标")
    assert headline["新签约项目"][3] == str(flows["signed"])
    assert headline["新签约项目"][2] == "60"  # the 2024 target
    pools = table(tables, "项目库")
    for pool, name in zh.POOLS.items():
        assert pools[name][1] == str(summary["pools"][pool]["count"]), pool
        assert pools[name][4] == zh.yi(summary["pools"][pool]["investment_yuan"]), pool
    assert any(t[0][:2] == ["名次", "镇办"] for t in tables) and any("红榜：" in p for p in paragraphs)
    red = summary["supervision"]["red"]  # red at the as-of date: the end of the quarter
    assert red > 0 and any(f"亮红灯项目{red}个" in p for p in paragraphs)
    red_list = next(t for t in tables if "逾期天数" in t[0])
    assert len(red_list) - 1 == min(red, 50)

    pdf = done["files"]["pdf"]
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True,
                          timeout=120).stdout
    assert "二七区招商引资项目2024年第四季度通报" in text.replace(" ", "")
    line = next(l for l in text.splitlines() if l.strip().startswith("新签约项目"))
    assert re.split(r"\s+", line.strip())[1:4] == ["个", "60", str(flows["signed"])]
    landed = next(l for l in text.splitlines() if l.strip().startswith("落地库"))
    assert re.split(r"\s+", landed.strip())[1] == str(summary["pools"]["landed"]["count"])
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True, timeout=60).stdout
    assert "A4" in info and int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 5
    for page in (1, 2):  # the headline page, and the next with its charts
        png = subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), "-singlefile",
                              pdf], capture_output=True, check=True, timeout=120).stdout
        assert 0.02 < dark_share(png) < 0.5, page  # text and lines on a white page: neither blank nor black
    html = (work / "b" / "bulletin-2024Q4.html").read_text(encoding="utf-8")
    assert "def " not in html and "<script" not in html and "二七区招商引资项目2024年第四季度通报" in html


def test_the_topic_gives_the_bulletin_of_the_replay_directory(bootstrap, seeded):
    topic, out, work = seeded
    funnel("bulletin", "--period", PERIOD, "--source", str(out), "--out", str(work / "dir"), "--format", "docx",
           bootstrap=bootstrap)
    funnel("bulletin", "--period", PERIOD, "--topic", topic, "--out", str(work / "topic"), "--format", "docx",
           bootstrap=bootstrap)
    assert docx_text(work / "topic" / "bulletin-2024Q4.docx") == docx_text(work / "dir" / "bulletin-2024Q4.docx")


@pytest.fixture(scope="module")
def with_trips(bootstrap, tmp_path_factory):
    """A hand-made history of trips, projects from them and issues (tests/unit/test_bulletin.py), ingested into
    a topic of its own and replayed as of the quarter's end."""
    import uuid

    from streams.kafkaio.topics import ensure_topics, event_topics
    from tests.unit.history import lines
    from tests.unit.test_bulletin import TRIP_TARGETS, TRIPS_AND_ISSUES

    work = tmp_path_factory.mktemp("bulletin-trips")
    topic = f"trips-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, event_topics(topic))
    feed, targets = work / "history.jsonl", work / "targets.json"
    history = [e for e in TRIPS_AND_ISSUES if e.get("project_id") != "Z"]  # no orphan: the quality checks pass
    feed.write_bytes(b"\n".join(lines(history)) + b"\n")
    targets.write_text(json.dumps(TRIP_TARGETS), encoding="utf-8")
    ingested = json.loads(funnel("ingest", str(feed), "--topic", topic, "--json", bootstrap=bootstrap).stdout)
    assert ingested["produced"] == len(history), ingested
    out = work / "replay"
    funnel("replay", "--topic", topic, "--as-of", "2024-12-31", "--out", str(out), "--targets", str(targets),
           bootstrap=bootstrap)
    return topic, out, work, targets


def test_the_trip_and_bottleneck_sections_read_back_from_the_docx_and_the_pdf(bootstrap, with_trips):
    from tests.unit.test_bulletin import TEAM1, TEAM2, TEAM3

    topic, out, work, targets = with_trips
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    year, issues = summary["trips"]["2024"], summary["bottlenecks"]
    done = json.loads(funnel("bulletin", "--period", PERIOD, "--source", str(out), "--out", str(work / "b"),
                             "--targets", str(targets), "--format", "docx,pdf", "--json", bootstrap=bootstrap).stdout)
    paragraphs, tables = docx_text(done["files"]["docx"])
    assert "三、外出招商" in paragraphs and "四、解瓶颈清障碍" in paragraphs
    trips = year["leader_led"] + year["team"] + year["other"]
    assert any(f"全区外出招商{trips}次" in p and f"党政主要领导带队外出考察走访企业{year['leader_led']}次，完成年度目标"
               f"（20次）" in p and f"小分队外出招商{year['team']}次" in p for p in paragraphs)
    teams = table(tables, "组别")
    assert list(teams) == [TEAM1, "未分组", TEAM3, TEAM2, "合计"]
    total = teams["合计"]
    assert total[1] == str(trips)
    assert total[4:6] == [str(year["companies_visited"]), str(year["valid_leads"])]
    assert total[6:9] == [str(year["projects_planned"]), str(year["projects_signed"]), zh.yi(year["signed_yuan"])]
    assert any(f"累计为{issues['projects_cleared']['2024']}个项目解瓶颈清障碍" in p and
               f"尚未办结的问题{issues['open']}个，其中逾期{issues['overdue']}个" in p for p in paragraphs)
    categories = table(tables, "问题类别")
    assert {name: int(row[1]) for name, row in categories.items() if name != "合计"} == {
        zh.ISSUE_CATEGORIES[c]: n for c, n in issues["open_by_category"].items()}
    overdue = next(t for t in tables if t[0][3:] == ["牵头单位", "办结时限", "逾期天数"])
    assert [(row[1], row[3], row[5]) for row in overdue[1:]] == [("总部经济大楼", "区城建局", "91"),
                                                                 ("高端装备产业园", "区自然资源局", "31")]
    assert len(overdue) - 1 == issues["overdue"]

    text = subprocess.run(["pdftotext", "-layout", done["files"]["pdf"], "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    flat = text.replace(" ", "").replace("\n", "")
    assert "三、外出招商" in flat and "四、解瓶颈清障碍" in flat
    assert f"全区外出招商{trips}次" in flat and f"其中逾期{issues['overdue']}个" in flat
    row = next(line for line in text.splitlines() if line.strip().startswith(TEAM1))
    assert re.split(r"\s+", row.strip()) == teams[TEAM1]
    late = next(line for line in text.splitlines() if "总部经济大楼" in line)
    assert re.split(r"\s+", late.strip())[-1] == "91" and "要素保障" in late and "区城建局" in late


def test_the_topic_gives_the_trip_and_bottleneck_sections_of_the_replay_directory(bootstrap, with_trips):
    topic, out, work, targets = with_trips
    for source, where in ((["--source", str(out)], "dir"), (["--topic", topic], "topic")):
        funnel("bulletin", "--period", PERIOD, *source, "--out", str(work / where), "--targets", str(targets),
               "--format", "docx", bootstrap=bootstrap)
    from_topic = docx_text(work / "topic" / "bulletin-2024Q4.docx")
    assert from_topic == docx_text(work / "dir" / "bulletin-2024Q4.docx")
    assert table(from_topic[1], "组别")["合计"][1] == "6"
