"""Validation of a checkpoint on a corpus of the user's audio, at scale: files listed and
sharded (`discover`), read block by block and converted (`reader`), coded in bounded memory
(`streaming`, `segments`), scored per window (`windows`), written as JSON lines that a run
resumes from (`results`, `runner`), and combined into corpus statistics with a verdict
(`aggregate`, `thresholds`)."""
