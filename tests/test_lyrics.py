import pytest
from conftest import SAMPLE_CSV, write_csv

from gpt2ft.cli import UserError
from gpt2ft.lyrics import Song, continuation_sample, load_lyrics, lyrics_document, lyrics_prompt, split_paragraphs

EN = "I walk along the river in the morning light\nThe city is asleep and everything is right"
EN2 = "We sing together when the night is long\nAnd every little heartbeat is a song"
PT = "Eu caminho pela praia quando o sol se põe\nE o mar me conta tudo o que ninguém supõe"


def test_prompt_and_document_format():
    assert lyrics_prompt("Paper Lanterns") == 'The lyrics of "Paper Lanterns":\n\n'
    song = Song("Blue", "line one\nline two", row=2)
    assert lyrics_document(song) == 'The lyrics of "Blue":\n\nline one\nline two'


def test_last_rows_are_the_test_set(tmp_path):
    rows = [{"SName": f"Song {i}", "Lyric": EN, "language": "en"} for i in range(10)]
    split = load_lyrics(write_csv(tmp_path / "l.csv", rows), test_rows=3)
    assert [s.title for s in split.test] == ["Song 7", "Song 8", "Song 9"]
    assert [s.title for s in split.train] == [f"Song {i}" for i in range(7)]


def test_language_filter_uses_column_then_langdetect(tmp_path):
    rows = [
        {"SName": "english by column", "Lyric": EN, "language": "en"},
        {"SName": "portuguese by column", "Lyric": EN, "language": "pt"},
        {"SName": "english detected", "Lyric": EN2, "language": ""},
        {"SName": "portuguese detected", "Lyric": PT, "language": ""},
        {"SName": "test", "Lyric": EN, "language": "en"},
    ]
    split = load_lyrics(write_csv(tmp_path / "l.csv", rows), test_rows=1)
    assert [s.title for s in split.train] == ["english by column", "english detected"]
    assert split.counts["train dropped: not English"] == 2
    assert split.counts["train language detected by langdetect"] == 2


def test_langdetect_column_may_be_missing(tmp_path):
    rows = [{"SName": "a", "Lyric": EN}, {"SName": "b", "Lyric": PT}, {"SName": "c", "Lyric": EN2}]
    path = write_csv(tmp_path / "l.csv", rows, columns=("SName", "Lyric"))
    split = load_lyrics(path, test_rows=1)
    assert [s.title for s in split.train] == ["a"]
    assert [s.title for s in split.test] == ["c"]


def test_bad_rows_are_counted_not_fatal(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(
        "ALink,SName,SLink,Lyric,language\n"
        f'/a/,Good,/a/g.html,"{EN}",en\n'
        '/a/,Broken,/a/b.html,"unquoted, extra",field,en\n'
        "/a/,Empty,/a/e.html,,en\n"
        f'/a/,,/a/n.html,"{EN}",en\n'
        f'/a/,Last,/a/l.html,"{EN2}",en\n', encoding="utf-8")
    split = load_lyrics(path, test_rows=1)
    assert [s.title for s in split.train] == ["Good"]
    assert split.counts["dropped: broken quoting"] == 1
    assert split.counts["train dropped: empty lyrics"] == 1
    assert split.counts["train dropped: missing title"] == 1
    assert "kept: 1 train songs, 1 test songs" in split.report()


def test_missing_columns_are_named(tmp_path):
    path = write_csv(tmp_path / "l.csv", [{"SName": "x"}], columns=("ALink", "SName", "language"))
    with pytest.raises(UserError, match=r"lacks column\(s\) Lyric"):
        load_lyrics(path)


def test_missing_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_lyrics(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(UserError, match="is empty"):
        load_lyrics(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("SName,Lyric\nCanção,coração\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_lyrics(latin)


def test_too_many_test_rows_is_an_error(tmp_path):
    path = write_csv(tmp_path / "l.csv", [{"SName": "a", "Lyric": EN, "language": "en"}])
    with pytest.raises(UserError, match="--test-rows 500 leaves no training rows"):
        load_lyrics(path)


def test_split_paragraphs_handles_crlf_and_spaces():
    text = "a\r\nb\r\n\r\nc\n  \n\nd\n"
    assert split_paragraphs(text) == ["a\nb", "c", "d"]


def test_continuation_sample_is_the_published_protocol():
    song = Song("T", "one\ntwo\n\nthree\n\nfour\nfive", row=2)
    sample = continuation_sample(song)
    assert sample.input == 'The lyrics of "T":\n\none\ntwo\n\nthree\n'
    assert sample.reference == "four\nfive"
    assert continuation_sample(Song("T", "only\none stanza", row=3)) is None


def test_shipped_demo_corpus():
    split = load_lyrics(SAMPLE_CSV, test_rows=8)
    assert (len(split.train), len(split.test)) == (16, 7)
    assert all(continuation_sample(s) is not None for s in split.test)
