"""Reports for people: the self-contained HTML validation report (`html`), its embedded media
(`media`: PNG and audio as data: URIs) and the figures drawn with matplotlib (`plots`, the
`report` extra; imported only when a figure is drawn)."""

__all__: list[str] = []
