"""Every way data enters the pipeline, in one package below `data_selection`, `training`, `rl` and
`evaluation`: JSONL I/O with atomic writes, crawl readers (WARC, WET, ARC, JSONL, parquet) with
math-keeping HTML extraction, hub dataset specs, and the one normaliser of math problems
(GSM8K, MATH, synthetic) that SFT, RL, reward-model data, evaluation and decontamination share."""
