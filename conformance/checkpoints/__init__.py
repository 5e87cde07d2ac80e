"""Checkpoints, read weights first in one pass (`load`): the format and safe reading
(`formats`, `unpickler`, `omegaconf_plain`, `hub`), the tensors' names (`naming`), the
architecture they imply (`infer`), the config resolved against them (`resolve`, with the
file formats' own configs in `hf_config` and `audiocraft_config`), the key layout of a config
and its mapping reports (`keymap`); writing and converting (`write`) and the codes file
(`codes_file`)."""

__all__: list[str] = []
