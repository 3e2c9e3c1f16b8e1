from peerscreen.io.records import COLUMNS, Record, RecordSet, join_text


def _records():
    return [
        Record(
            record_id="a",
            title="Peer specialists on ACT teams",
            abstract="We studied ...",
            authors=["Doe, J."],
            year=2004,
            included=1,
            category="peer_employees",
            outcomes=["hospitalization"],
            extra={"note": "x"},
        ),
        Record(record_id="b", title=None, abstract=None, year=None, included=None),
    ]


def test_round_trip_through_record_set():
    records = RecordSet.from_records(_records())
    assert list(records.frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert records.extra_columns == ["note"]
    first, second = list(records)
    assert first.title == "Peer specialists on ACT teams"
    assert first.authors == ["Doe, J."]
    assert first.year == 2004 and first.included == 1
    assert first.outcomes == ["hospitalization"]
    assert first.extra == {"note": "x"}
    assert second.year is None and second.included is None and second.outcomes == []
    assert records[1].record_id == "b"


def test_texts_and_missing_text():
    records = RecordSet.from_records(_records())
    assert records.texts()[0] == "Peer specialists on ACT teams. We studied ..."
    assert records.texts()[1] == ""
    assert records.has_text().tolist() == [True, False]
    assert records.years() == [2004, None]
    assert join_text("Why peers?", "Because.") == "Why peers? Because."


def test_labels_are_normalised_from_many_spellings():
    columns = {
        "record_id": ["1", "2", "3", "4"],
        "title": ["t"] * 4,
        "included": ["yes", "0", 1.0, "maybe"],
    }
    assert RecordSet.from_columns(columns).frame["included"].tolist()[:3] == [1, 0, 1]


def test_to_hugging_face_dataset():
    dataset = RecordSet.from_records(_records()).to_dataset()
    assert dataset.num_rows == 2
    assert dataset[0]["title"] == "Peer specialists on ACT teams"
    assert dataset[0]["outcomes"] == ["hospitalization"]
