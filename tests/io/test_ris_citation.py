"""RIS out keeps what a reference manager needs to cite: VL, IS, SP, EP, UR, ST, T2."""

from __future__ import annotations

from peerscreen.io.readers import read_file
from peerscreen.io.records import Record, RecordSet
from peerscreen.io.writers import ris_text, write_records

RIS = """TY  - JOUR
ID  - 49
TI  - Polyvictimization: Latent profiles and mental health outcomes
AU  - Adams, Z. W.
PY  - 2016
T2  - Psychology of Violence
VL  - 6
IS  - 1
SP  - 145
EP  - 155
UR  - http://www.scopus.com/inward/record.url?eid=2-s2.0-84954398991&partnerID=40
UR  - http://psycnet.apa.org/index.cfm?fa=search.displayrecord&uid=2015-40289-001
ST  - Polyvictimization
ER  -
"""


CITATION_TAGS = {"VL", "IS", "SP", "EP", "UR", "ST", "T2", "JO"}


def _tag_lines(text: str) -> set[str]:
    return {line for line in text.splitlines() if line[:2] in CITATION_TAGS}


def test_citation_tags_are_written_back_as_they_were_read(tmp_path):
    source = tmp_path / "in.ris"
    source.write_text(RIS, encoding="utf-8")
    records, _ = read_file(source)
    extra = records[0].extra
    assert extra["url"].count("http") == 2
    assert records[0].journal == "Psychology of Violence"
    out = write_records(records, tmp_path / "out.ris")
    assert _tag_lines(out.read_text(encoding="utf-8")) == _tag_lines(RIS)  # T2, not JO
    again, _ = read_file(out)
    for name in ("volume", "issue", "start_page", "end_page", "url", "short_title"):
        assert again[0].extra[name] == extra[name], name


def test_a_journal_from_elsewhere_is_written_as_jo():
    records = RecordSet.from_records(
        [Record(record_id="1", title="T", journal="Psychiatr Serv", extra={"volume": "56"})]
    )
    lines = ris_text(records.frame).splitlines()
    assert "JO  - Psychiatr Serv" in lines and "VL  - 56" in lines
    assert not any(line.startswith("T2") for line in lines)
