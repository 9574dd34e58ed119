"""Render 100 notices and print the median seconds per document (target ≤ 0.3 s).

python bench/render_speed.py [--count 100]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zhikong.generator.notice import NoticeSpec, render_notice

BODY = "\n".join(
    ["为进一步加强护理质量管理，经研究，决定召开2026年第一次护理质控工作会议。现将有关事项通知如下："]
    + [
        f"{n}、第{n}项安排\n（一）具体要求。" + "请各单位高度重视，按时参会，认真做好会议准备工作。" * 4
        for n in "一二三四五"
    ]
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as work:
        for index in range(args.count):
            spec = NoticeSpec(
                organ_mark="金乡县卫生健康局文件",
                doc_prefix="金卫健字",
                year=2026,
                number=index + 1,
                title=f"关于召开2026年第{index + 1}次护理质控工作会议的通知",
                to="各镇街卫生院、县直各医疗机构：",
                body=BODY,
                signer="金乡县卫生健康局",
                date=datetime.date(2026, 3, 5),
                attachments=("会议议程", "参会回执"),
                cc=("县护理质控中心",),
                draft=False,
            )
            start = time.perf_counter()
            render_notice(spec, Path(work) / f"{index}.docx")
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"notices rendered: {args.count}")
    print(f"median seconds per document: {median:.3f} (target ≤ 0.3; max {max(times):.3f})")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
