"""Reading XML members of office zip containers with the standard library, namespace-agnostic."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from xml.etree import ElementTree as ET


def local(tag: str) -> str:
    """The tag name without its `{namespace}` prefix: OOXML and OFD files vary their namespaces."""
    return tag.rsplit("}", 1)[-1]


def parse_member(zf: zipfile.ZipFile, name: str) -> ET.Element | None:
    try:
        with zf.open(name) as fh:
            return ET.parse(fh).getroot()
    except KeyError:
        return None


def iter_local(root: ET.Element, name: str) -> Iterator[ET.Element]:
    for el in root.iter():
        if local(el.tag) == name:
            yield el
