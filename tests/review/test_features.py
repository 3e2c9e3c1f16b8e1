"""The model frame every backend reads."""

from peerscreen.io.records import RecordSet


def test_records_with_and_without_a_year_are_predicted(trained):
    """pandas stores [2004, None] as floats with NaN; the criteria window must see None."""
    records = RecordSet.from_columns(
        {
            "title": ["Peer support groups for adults with depression", "Peer workers on a ward"],
            "abstract": ["A randomised trial.", "A qualitative study."],
            "year": [2004, None],
        }
    )
    prediction = trained.model.predict(records)
    assert len(prediction) == 2
    assert prediction["p_include"].between(0, 1).all()
