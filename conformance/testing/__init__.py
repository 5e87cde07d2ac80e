"""What tests of an EnCodec import: hypothesis strategies for configs and lengths
(`strategies`), assertions whose failures read like bug reports (`assertions`), seeded weights
with realistic statistics (`weights`), and the peer implementations' adapters (`peers`)."""

__all__: list[str] = []
