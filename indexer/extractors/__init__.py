"""One extractor per file format, all behind the `Extractor` protocol in `base`."""
