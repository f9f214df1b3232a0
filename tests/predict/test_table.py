"""Reading a model's CSV file as a table of text cells, and writing it back the way it came."""

from __future__ import annotations

import codecs

import pytest

from leadwell.errors import InvalidInput
from leadwell.predict.table import Table, read_csv_table, write_csv_table


def test_cells_stay_as_written_and_empty_ones_are_none() -> None:
    table = read_csv_table(b'id,employees,name\n1," 1,200 ",Ann\n2,,\n', "leads.csv")
    assert table.columns == ["id", "employees", "name"]
    assert table.rows == [["1", " 1,200 ", "Ann"], ["2", None, None]]
    assert table.lines == [2, 3]


def test_quoted_cells_keep_delimiters_and_newlines() -> None:
    table = read_csv_table(b'id,note\n1,"a, b"\n2,"two\nlines"\n3,x\n')
    assert [row[1] for row in table.rows] == ["a, b", "two\nlines", "x"]
    assert table.lines == [2, 3, 5]  # the quoted newline counts as a line of the file


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        (b"a;b\n1;2\n3;4\n", ";"),
        (b"a\tb\n1\t2\n3\t4\n", "\t"),
        (b"a|b\n1|2\n3|4\n", "|"),
        (b"a,b\n1,2\n3,4\n", ","),
    ],
)
def test_the_delimiter_is_detected(content: bytes, delimiter: str) -> None:
    table = read_csv_table(content)
    assert table.columns == ["a", "b"] and table.rows == [["1", "2"], ["3", "4"]]
    assert table.format.delimiter == delimiter


@pytest.mark.parametrize(
    "content",
    [
        codecs.BOM_UTF8 + "name,city\nJosé,Málaga\n".encode(),
        "name,city\nJosé,Málaga\n".encode("utf-16"),
        "name,city\nJosé,Málaga\n".encode("cp1252"),
    ],
)
def test_encodings_are_detected(content: bytes) -> None:
    table = read_csv_table(content)
    assert table.columns == ["name", "city"]
    assert table.rows == [["José", "Málaga"]]


def test_blank_lines_are_skipped_and_short_rows_padded() -> None:
    table = read_csv_table(b"a,b,c\n\n1,2\n,,\n4,5,6\n")
    assert table.rows == [["1", "2", None], ["4", "5", "6"]]
    assert table.lines == [3, 5]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n \n", "is empty"),
        (b"a,b\n", "has a header but no rows"),
        (b"a,A\n1,2\n", "A: leads.csv has two columns of this name"),
        (b"a,b\n1,2\n3,4,5\n", "line 3: 3 cells but the header (line 1) names 2 columns"),
        (b"%PDF-1.4 something", "a PDF document"),
        (b"PK\x03\x04 zipped", "save it as CSV"),
    ],
)
def test_unreadable_files_are_refused_with_the_reason(content: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_csv_table(content, "leads.csv")
    assert message in caught.value.detail


def test_extra_empty_cells_at_the_end_of_a_row_are_dropped() -> None:
    assert read_csv_table(b"a,b\n1,2,,\n").rows == [["1", "2"]]


def test_a_blank_header_is_named_by_its_position() -> None:
    assert read_csv_table(b"a,,c\n1,2,3\n").columns == ["a", "Column 2", "c"]


def test_writing_back_keeps_delimiter_quoting_and_line_ends() -> None:
    content = b'"id";"name"\r\n"1";"Ann"\r\n"2";"Bob ""B"""\r\n'
    table = read_csv_table(content)
    assert table.format.quote_all and table.format.delimiter == ";" and table.format.line_end == "\r\n"
    assert write_csv_table(table) == content


def test_writing_back_plain_csv_quotes_only_where_needed() -> None:
    content = b'id,note\n1,"a, b"\n2,\n'
    assert write_csv_table(read_csv_table(content)) == content


def test_a_copy_of_a_non_utf8_file_is_utf8_with_a_byte_order_mark() -> None:
    table = read_csv_table("name\nJosé\n".encode("cp1252"))
    assert write_csv_table(table) == codecs.BOM_UTF8 + "name\nJosé\n".encode()


def test_column_lookup_names_the_missing_column() -> None:
    table = Table(["a", "b"], [["1", "2"]])
    assert table.column("b") == ["2"]
    with pytest.raises(InvalidInput) as caught:
        table.column("c")
    assert caught.value.field == "c" and "the columns are a, b" in caught.value.detail
    assert table.line_of(0) == "row 1"
