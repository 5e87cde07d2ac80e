"""Floors for the released encodec_24khz model, set from published numbers.

Each floor is the lowest published value for that bandwidth and metric on clean English speech,
minus `PESQ_MARGIN` (PESQ-WB) or times `STOI_FACTOR` (STOI): a correctly loaded release passes
on our short clips, and a broken load (static noise, random weights: PESQ-WB about 1.03, STOI
0.4-0.55 on our speech clips) fails. The sources, the numbers and why the margins are this
wide: docs/published_numbers.md (its source keys are the ones used here).

Only encodec_24khz has published PESQ/STOI numbers; encodec_32khz and encodec_48khz are not
tabulated rather than guessed.
"""

from __future__ import annotations

import statistics

from conformance.quality.thresholds import Threshold, ThresholdSet

__all__ = ["ANCHORS_24KHZ", "MARGIN_NOTE", "PESQ_MARGIN", "RELEASED", "SOURCES", "STOI_FACTOR"]

PESQ_MARGIN = 0.3
STOI_FACTOR = 0.9
MARGIN_NOTE = (f"floor = lowest published value - {PESQ_MARGIN} (PESQ-WB) or x {STOI_FACTOR} "
               "(STOI); a 'loaded correctly' gate, see docs/published_numbers.md for why the "
               "margins are this wide")

#: Source key -> its name and link (the table of docs/published_numbers.md).
SOURCES: dict[str, str] = {
    "codec_superb_web": "Codec-SUPERB results page data @3bd3812 "
                        "(https://github.com/voidful/Codec-SUPERB)",
    "codec_superb_tiny": "Codec-SUPERB codec-superb-tiny rerun, Speech split @ec31105 "
                         "(https://github.com/voidful/Codec-SUPERB)",
    "llasa_xcodec2": "Llasa / X-codec 2 paper, Table 1, LibriSpeech test-clean "
                     "(https://arxiv.org/abs/2502.04128)",
    "moss_tokenizer": "MOSS-Audio-Tokenizer-v2 model card, LibriSpeech test-clean "
                      "(https://arxiv.org/abs/2602.10934)",
    "codecscope": "codecscope README, one LibriVox narration "
                  "(https://github.com/RavinduPabasara/codecscope)",
}

#: encodec_24khz on clean speech: (bandwidth, metric) -> (source key, published value) pairs.
ANCHORS_24KHZ: dict[tuple[float, str], tuple[tuple[str, float], ...]] = {
    (1.5, "pesq_wb"): (("codec_superb_web", 1.462), ("codec_superb_tiny", 1.516),
                       ("llasa_xcodec2", 1.56), ("moss_tokenizer", 1.56)),
    (3.0, "pesq_wb"): (("codec_superb_web", 1.923), ("codec_superb_tiny", 1.984)),
    (6.0, "pesq_wb"): (("codec_superb_web", 2.538), ("codec_superb_tiny", 2.635),
                       ("llasa_xcodec2", 2.77)),
    (12.0, "pesq_wb"): (("codec_superb_web", 3.114), ("codec_superb_tiny", 3.304)),
    (24.0, "pesq_wb"): (("codec_superb_web", 3.467), ("codec_superb_tiny", 3.658)),
    (1.5, "stoi"): (("codec_superb_web", 0.773), ("codec_superb_tiny", 0.799),
                    ("llasa_xcodec2", 0.85), ("moss_tokenizer", 0.85)),
    (3.0, "stoi"): (("codec_superb_web", 0.841), ("codec_superb_tiny", 0.861)),
    (6.0, "stoi"): (("codec_superb_web", 0.893), ("codec_superb_tiny", 0.910),
                    ("llasa_xcodec2", 0.94), ("codecscope", 0.937)),
    (12.0, "stoi"): (("codec_superb_web", 0.930), ("codec_superb_tiny", 0.943)),
    (24.0, "stoi"): (("codec_superb_web", 0.952), ("codec_superb_tiny", 0.960)),
}


def _floor(family: str, bandwidth: float, metric: str,
           anchors: tuple[tuple[str, float], ...]) -> Threshold:
    values = [v for _, v in anchors]
    low = min(values)
    floor = low - PESQ_MARGIN if metric.startswith("pesq") else low * STOI_FACTOR
    return Threshold(
        family=family, bandwidth_kbps=bandwidth, metric=metric, minimum=round(floor, 3),
        anchor_value=round(statistics.median(values), 4), anchor_range=(low, max(values)),
        sources=tuple(f"{key}: {v} ({SOURCES[key]})" for key, v in anchors),
        margin_note=MARGIN_NOTE, measured=None, provenance="built-in released")


RELEASED = ThresholdSet("released", tuple(
    _floor("encodec_24khz", bw, metric, anchors)
    for (bw, metric), anchors in ANCHORS_24KHZ.items()))
