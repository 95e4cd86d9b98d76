"""Tokenizer, model factory, continued pretraining and SFT shared by the pipeline stages."""
