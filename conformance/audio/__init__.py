"""Audio: reading and writing sound files with the one pinned resampler (`io`), the catalogue of
reference clips (`clips`), the deterministic edge-case signals (`signals`) and their files
(`generated`), and log-magnitude spectrograms with their axes (`spectrogram`; drawn by
`conformance.reporting.plots`)."""

__all__: list[str] = []
