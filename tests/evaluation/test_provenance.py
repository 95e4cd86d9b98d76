"""The report's Data section: records per source at each data stage, and decontamination counts."""

from evaluation.provenance import provenance_markdown


def test_data_section_lists_sources_and_removals():
    text = provenance_markdown({
        "dedup": {"kept_by_source": {"CC-MAIN.warc.gz": 16, "whirlwind.warc.gz": 1}},
        "decontaminate": {"input": 17, "kept": 16, "removed": 1, "removed_by_benchmark": {"gsm8k": 1},
                          "removed_by_page_source": {"CC-MAIN.warc.gz": 1},
                          "benchmark_records": {"gsm8k": 1319, "math": 5000, "math500": 500}},
        "problems@sft": {"by_source": {"gsm8k": 7473, "math": 7312},
                         "decontamination": {"input": 14946, "removed": 161, "removed_by_benchmark": {"math": 161},
                                             "removed_by_page_source": {"math": 161}}},
    })
    assert "| dedup (pool pages kept) | CC-MAIN.warc.gz 16, whirlwind.warc.gz 1 |" in text
    assert "| problems@sft (SFT problems) | gsm8k 7,473, math 7,312 |" in text
    assert "| decontaminate (corpus kept) | 16 of 17 |" in text
    assert "| decontaminate (corpus) | 17 | 1 | gsm8k 1 | CC-MAIN.warc.gz 1 | gsm8k 1,319, math 5,000, math500 500 |" in text
    assert "| problems@sft | 14,946 | 161 | math 161 | math 161 | - |" in text
    assert "seed" not in text.split("| stage | records by source |")[1].split("Decontamination")[0]
