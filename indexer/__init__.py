"""Text extraction and the search index. Only what is needed without loading an engine lives here."""

ENGINES = ("whoosh", "tantivy")
# Each engine's index in its own folder of the archive's system folder, so a switch never mixes them.
# (Here, not in indexer.index: a scan looks at these folders without importing an engine.)
ENGINE_DIRS = {"whoosh": "index", "tantivy": "index-tantivy"}
