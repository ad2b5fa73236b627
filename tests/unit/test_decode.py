import codecs

import pytest
from wirewatch.core.decode import Decoded, decode
from wirewatch.core.models import RejectReason

TEXT = "Le régulateur a exclu l’équipement chinois: coût 5 €, cœur du réseau « sécurisé »."
LIMIT = 1024 * 1024


@pytest.mark.parametrize(
    "data, encoding",
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_encodings_round_trip(data, encoding):
    out = decode(data, LIMIT)
    assert isinstance(out, Decoded)
    assert out.text == TEXT
    assert out.encoding == encoding


def test_cyrillic_legacy_code_page():
    text = "Правительство запретило оборудование компании в сетях пятого поколения."
    out = decode(text.encode("cp1251"), LIMIT)
    assert isinstance(out, Decoded) and out.text == text


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty"),
        (b"   \n\t\n", "empty"),
        (b"%PDF-1.7 binary", "binary"),
        (b"\x89PNG\r\n\x1a\n....", "binary"),
        (b"text\x00with\x00nuls and more bytes here \x00\x01", "binary"),
        (bytes(range(1, 32)) * 20, "binary"),
        (b"x" * (LIMIT + 1), "oversize"),
        (codecs.BOM_UTF8 + b"\xff\xfe\xfa broken", "undecodable"),
        (bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 50, "undecodable"),
    ],
)
def test_rejections_name_a_reason(data, code):
    out = decode(data, LIMIT)
    assert isinstance(out, RejectReason)
    assert out.code == code
    assert len(out.reason) > 20
