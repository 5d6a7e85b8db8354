"""The form encoding the transport sends: exactly what urllib would, however odd the text."""

from __future__ import annotations

import string
from urllib.parse import urlencode

import orjson
import pytest
from conftest import digest

from audframe.transport import form_body


@pytest.mark.parametrize(
    "value",
    ["", "plain", "a b+c", "100% & = ?", "%41%2541", "é€😀", "\x00\x01\n\t\x7f",
     string.printable, "".join(chr(c) for c in range(256)),
     orjson.dumps({"schema": ["EMAIL"], "data": [[digest(str(i))] for i in range(50)]}).decode()],
    ids=["empty", "plain", "space-plus", "reserved", "escapes", "unicode", "controls",
         "printable", "latin-1", "payload"],
)
def test_form_body_is_urlencode_byte_for_byte(value: str) -> None:
    fields = {"payload": value, "session": '{"session_id":1}', "k y": value[::-1]}
    assert form_body(fields) == urlencode(fields).encode("ascii")
