"""Documentation generated from the schema stays in sync with it."""

from pathlib import Path

from symbiosis.schema import markdown_reference

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_data_format_reference_matches_schema():
    text = (DOCS / "data-format.md").read_text(encoding="utf-8")
    marker = "<!-- generated from data/schema"
    generated = text[text.index(marker):].split("\n", 1)[1]
    assert generated == markdown_reference(), "run: python -m symbiosis.schema > docs section (see docs/data-format.md)"


def test_readme_starts_with_the_two_commands():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```bash")[1:3]
    assert "pip install -e ." in blocks[0] and "symbiosis" in blocks[0]
    assert 'pip install -e ".[test]"' in blocks[1] and "pytest" in blocks[1]
    ci = (DOCS.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1].split("```")[0].strip() in ci


def test_every_message_has_vietnamese_and_english():
    import csv

    from symbiosis.resources import data_path

    with data_path("i18n", "messages.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys))
    assert all(r["vi"].strip() and r["en"].strip() for r in rows)
