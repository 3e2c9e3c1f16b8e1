from hypothesis import given
from hypothesis import strategies as st

from peerscreen.io.cleaning import (
    clean_list,
    clean_text,
    normalise_doi,
    normalise_pmid,
    parse_year,
    split_list,
    title_key,
)


def test_clean_text_strips_markup_entities_and_whitespace():
    raw = "  <jats:p>Peer <i>support</i> &amp; recovery\n\t in  the\xa0community</jats:p> "
    assert clean_text(raw) == "Peer support & recovery in the community"


def test_clean_text_treats_blank_and_non_strings_as_missing():
    assert clean_text("   ") is None
    assert clean_text("") is None
    assert clean_text(None) is None
    assert clean_text(float("nan")) is None


def test_clean_text_normalises_to_nfc():
    assert clean_text("Mu\u0308ller") == "Müller"


def test_clean_text_keeps_comparisons_that_are_not_tags():
    assert clean_text("scores < 5 and > 2") == "scores < 5 and > 2"


@given(st.text())
def test_clean_text_is_idempotent(text):
    once = clean_text(text)
    assert once is None or clean_text(once) == once


@given(st.text())
def test_clean_text_leaves_no_whitespace_runs(text):
    cleaned = clean_text(text)
    if cleaned is not None:
        assert cleaned == cleaned.strip()
        assert "  " not in cleaned and "\n" not in cleaned


def test_lists():
    assert clean_list([" a ", "", None, "b"]) == ["a", "b"]
    assert split_list("peer support; recovery;; ") == ["peer support", "recovery"]
    assert split_list("a, b; c", ";,") == ["a", "b", "c"]


def test_parse_year_variants():
    assert parse_year("2004//") == 2004
    assert parse_year("2006/03/01") == 2006
    assert parse_year("1998 Jan-Feb") == 1998
    assert parse_year(2004.0) == 2004
    assert parse_year("n.d.") is None
    assert parse_year(float("nan")) is None


def test_identifiers():
    assert normalise_doi("https://doi.org/10.1176/PS.2005.1") == "10.1176/ps.2005.1"
    assert normalise_doi("doi:10.5555/abc.") == "10.5555/abc"
    assert normalise_doi("10.5555/xyz [doi]") == "10.5555/xyz"
    assert normalise_doi("not a doi") is None
    assert normalise_pmid("https://pubmed.ncbi.nlm.nih.gov/27919275") == "27919275"
    assert normalise_pmid(12345.0) == "12345"
    assert normalise_pmid("") is None


def test_title_key_ignores_case_accents_and_punctuation():
    assert title_key("Peer Support: A Review!") == title_key("peer support -- a review")
    assert title_key("Café") == title_key("Cafe")


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_title_key_fast_path_matches_the_unicode_path(text):
    import re
    import unicodedata

    slow = re.sub(
        r"[^0-9a-z]+",
        "",
        unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode(),
    )
    assert title_key(text) == (slow or None)


def test_escaped_markup_is_decoded_then_stripped():
    """OpenAlex holds `&lt;p&gt;Title&lt;/p&gt;`: decoding after stripping left `<p>` in."""
    assert clean_text("&lt;p&gt;Clinical Evidence&lt;/p&gt;") == "Clinical Evidence"
    assert clean_text("&amp;lt;i&amp;gt;double&amp;lt;/i&amp;gt; escaped") == "double escaped"
    assert clean_text("&lt;jats:italic&gt;in vitro&lt;/jats:italic&gt;") == "in vitro"


def test_only_real_tags_are_stripped():
    assert clean_text("a &lt; b and c &gt; d") == "a < b and c > d"
    assert clean_text("x<b and c>y") == "x<b and c>y"  # prose: attributes need values
    assert clean_text("fish <Actinopterygii> only") == "fish <Actinopterygii> only"
    assert clean_text("age <or=65 years") == "age <or=65 years"
    assert clean_text('<p class="x">One</p><p>Two</p>') == "One Two"
    assert clean_text("CO<sub>2</sub> and H<sub >2</sub>O<br/>next") == "CO2 and H2O next"
    assert clean_text("<mml:math><mml:mi>x</mml:mi><mml:mo>+</mml:mo></mml:math>") == "x+"
    assert clean_text("<!-- note -->kept") == "kept"
    # only references closed by ";" are decoded: a URL's "&copy=1" is not "©=1"
    assert clean_text("http://x.org/?a=1&copy=2&reg=3") == "http://x.org/?a=1&copy=2&reg=3"
    assert clean_text("&#233;t&#xE9; &unknown;") == "été &unknown;"


_markup = st.lists(
    st.sampled_from(
        ["&lt;", "&gt;", "&amp;", "&", "amp;", "lt;", "<", ">", "/", "p", "i", "b", "sub",
         "jats:", "=", '"', " ", "\n", "x", "&#60;", "<!--", "-->", "\xa0", "e\u0301"]
    ),
    max_size=20,
).map("".join)  # fmt: skip


@given(_markup)
def test_clean_text_is_idempotent_on_markup_and_entities(text):
    once = clean_text(text)
    assert once is None or clean_text(once) == once


def test_pmid_written_as_a_float_string():
    assert normalise_pmid("30705535.0") == "30705535"
    assert normalise_pmid("30705535.00") == "30705535"
    assert normalise_pmid("3.0705535e+07") == "30705535"
    assert normalise_pmid("0.0") is None
    assert normalise_pmid("PMID: 30705535") == "30705535"
