"""Everything that is not UI: reading, decoding, alignment, restoration, export. Never imports Qt."""
