"""Data selection: synthetic web, URL + MinHash dedup, fastText mining, and benchmark decontamination."""
