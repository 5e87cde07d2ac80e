"""Audio quality: metrics that report "not computed" instead of inventing a number
(`metrics`), thresholds and the check against them (`thresholds`), and the released model's
floors from published numbers (`released`)."""

__all__: list[str] = []
