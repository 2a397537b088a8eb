"""The corpus of hostile and broken catalogue files: each gives exactly its located error.

tests/corpus/*.yaml are mutations of tests/corpus/_base.txt (a valid entry) or raw attacks;
tests/corpus/EXPECTED.tsv holds, per file, the first problem it must produce, verbatim.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prismcat.catalog import load_entry
from prismcat.catalog.loader import load_catalog
from prismcat.errors import CatalogError

CORPUS = Path(__file__).parent / "corpus"


def expected() -> dict[str, str]:
    out = {}
    for line in (CORPUS / "EXPECTED.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            name, message = line.split("\t", 1)
            out[name] = message
    return out


def test_the_base_entry_is_valid(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text((CORPUS / "_base.txt").read_text())
    assert load_entry(path, check_values=True).id == "large-data+mean-field"


def test_every_corpus_file_is_listed():
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted(expected())
    assert len(expected()) >= 50


@pytest.mark.parametrize(("name", "message"), sorted(expected().items()))
def test_corpus_file_gives_its_located_error(name, message):
    with pytest.raises(CatalogError) as info:
        load_entry(CORPUS / name, name, check_values=True)
    assert str(info.value.problems[0]) == message


def test_a_catalogue_of_broken_files_loads_without_crashing():
    """All of them at once: every file is reported, none stops the others."""
    cat = load_catalog(CORPUS, check_values=True)
    assert len(cat.entries) == 0
    assert {p.location.file.rsplit("/", 1)[-1] for p in cat.problems} == set(expected())
