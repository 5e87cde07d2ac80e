"""The bundled golden checkpoints (`bundle`) and their three checks: regression against the
manifest (`manifest`), quality against the measured thresholds (`thresholds`, `checks`), and
sensitivity to the broken variants (`breakers`, `checks`); `runs` runs a model on a clip the
way all of them do, and `report` prints the verdict."""

__all__: list[str] = []
