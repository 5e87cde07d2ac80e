"""The implementation checks catch real implementation bugs: each bug below is injected into the
model of one transformers adapter (`transformers_adapter(weights)`, then instance attributes of
that adapter's own model replaced) and must fail at least one `impl.*` check, while the clean
adapter passes every check on every golden family.

Each test records the checks that caught its bug (`caught_by`, in the junit XML); the bugs
cover padding side and mode, transposed-convolution trims, weight norm, activations, the LSTM
skip, the residual quantizer, output length and dtype, causal layers, the bandwidth ladder,
renormalisation scales, chunk offsets and overlap-add, stereo order, group norm, input
clamping, output clamping, and inputs modified in place. The tests run each bug without
`impl.properties`, and without the checks blind to its side (see `Bug.select`).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from conformance.checks.engine import Case, implementation_subject, run_subject
from conformance.status import Status

pytestmark = [pytest.mark.peers]

pytest.importorskip("transformers")

from transformers.models.encodec import modeling_encodec as hf  # noqa: E402

from conformance.adapters.transformers import (  # noqa: E402 - needs transformers
    TransformersAdapter,
    transformers_adapter,
)

FAMILIES = ("encodec_24khz", "encodec_32khz", "encodec_48khz")


# ------------------------------------------------------------------------------ injection
# Every injection mutates only the model the factory has just built (instance attributes,
# instance submodules, that model's own config object): nothing leaks to other tests.
def _bind(module: nn.Module, name: str, fn: Callable) -> None:
    """Replace `module.<name>` on this instance only."""
    setattr(module, name, types.MethodType(fn, module))


def _each(adapter: TransformersAdapter, cls: type) -> list[nn.Module]:
    found = [m for m in adapter.model.modules() if isinstance(m, cls)]
    assert found, f"no {cls.__name__} in the model: the injection would be a no-op"
    return found


def _conv_padding(split: Callable[[int], tuple[int, int]]) -> Callable:
    """`EncodecConv1d.forward` with the fixed padding split as `split(padding_total)` says."""
    def forward(self, x):
        extra = int(self._get_extra_padding_for_conv1d(x))
        left, right = split(int(self.padding_total))
        x = self.conv(self._pad1d(x, (left, right + extra), mode=self.pad_mode))
        return self.norm(x) if self.norm_type == "time_group_norm" else x
    return forward


def _convtr_trim(split: Callable[[int], tuple[int, int]]) -> Callable:
    """`EncodecConvTranspose1d.forward` trimming `split(padding_total)` = (left, right)."""
    def forward(self, x):
        total = self.conv.kernel_size[0] - self.conv.stride[0]
        x = self.conv(x)
        if self.norm_type == "time_group_norm":
            x = self.norm(x)
        left, right = split(total)
        return x[..., left: x.shape[-1] - right]
    return forward


def _encode_frame(scale_of: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    """`EncodecModel._encode_frame` with the renormalisation scale computed by `scale_of`."""
    def encode_frame(self, x, bandwidth):
        scale = None
        if self.config.normalize:
            scale = scale_of(x)  # [B, 1, 1]
            x = x / scale
            scale = scale.view(-1, 1)
        codes = self.quantizer.encode(self.encoder(x), bandwidth)
        return codes.transpose(0, 1), scale
    return encode_frame


def _mono_rms(x: torch.Tensor) -> torch.Tensor:
    return x.mean(1, keepdim=True).pow(2).mean(dim=-1, keepdim=True).sqrt()


def pad_split_reversed(a):
    # non-causal: the odd sample of an odd padding goes left in EnCodec; here it goes right
    for m in _each(a, hf.EncodecConv1d):
        _bind(m, "forward", _conv_padding(lambda total: (total // 2, total - total // 2)))
    return a


def causal_padding_ignored(a):
    # a causal model padded as a non-causal one (split both sides instead of all on the left)
    for m in _each(a, hf.EncodecConv1d):
        _bind(m, "forward", _conv_padding(lambda total: (total - total // 2, total // 2)))
    return a


def zero_padding(a):
    # zero padding where the config says reflect
    for m in _each(a, hf.EncodecConv1d):
        m.pad_mode = "constant"
    return a


def reflect_short_input_unguarded(a):
    # reflect padding without the zero pre-padding of inputs shorter than the padding
    def pad1d(x, paddings, mode="zero", value=0.0):
        return nn.functional.pad(x, tuple(int(p) for p in paddings), mode, value)

    for m in _each(a, hf.EncodecConv1d):
        m._pad1d = pad1d
    return a


def extra_padding_dropped(a):
    # no right padding up to a whole last frame: floor(L / hop) frames instead of ceil
    for m in _each(a, hf.EncodecConv1d):
        _bind(m, "_get_extra_padding_for_conv1d", lambda self, x: 0)
    return a


def convtr_trim_side_swapped(a):
    # non-causal transposed conv: the odd sample trimmed on the right instead of the left
    for m in _each(a, hf.EncodecConvTranspose1d):
        _bind(m, "forward", _convtr_trim(lambda total: (total // 2, total - total // 2)))
    return a


def causal_convtr_trimmed_left(a):
    # causal transposed conv: the padding trimmed on the left instead of the right
    for m in _each(a, hf.EncodecConvTranspose1d):
        _bind(m, "forward", _convtr_trim(lambda total: (total, 0)))
    return a


def lstm_skip_dropped(a):
    # the LSTM's skip connection (y = lstm(x) + x) left out
    def forward(self, x):
        return self.lstm(x.permute(2, 0, 1))[0].permute(1, 2, 0)

    for m in _each(a, hf.EncodecLSTM):
        _bind(m, "forward", forward)
    return a


def conv_shortcut_dropped(a):
    # the residual blocks' 1x1 conv shortcut replaced by identity (true_skip assumed)
    for m in _each(a, hf.EncodecResnetBlock):
        m.shortcut = nn.Identity()
    return a


def elu_alpha_wrong(a):
    # ELU(alpha=0.5) instead of ELU(alpha=1.0)
    for m in _each(a, nn.ELU):
        m.alpha = 0.5
    return a


def weight_norm_wrong_dim(a):
    # weight = g * v / ||v|| with the norm taken over dim 1 instead of dim 0
    from torch.nn.utils import parametrize

    convs = [m for m in a.model.modules() if parametrize.is_parametrized(m, "weight")]
    assert convs, "no weight-normed conv"
    for m in convs:
        m.parametrizations.weight[0].dim = 1
    return a


def group_norm_per_channel(a):
    # time_group_norm as one group per channel (instance norm) instead of one group
    norms = [m.norm for m in _each(a, hf.EncodecConv1d) if hasattr(m, "norm")]
    assert norms, "no time_group_norm"
    for n in norms:
        n.num_groups = n.num_channels
    return a


def codes_one_based(a):
    # 1-based codes (0 kept for padding): emits index + 1, looks up row code - 1
    def encode(self, x):
        return hf.EncodecEuclideanCodebook.encode(self, x) + 1

    def decode(self, codes):
        return nn.functional.embedding(codes - 1, self.embed)

    for m in _each(a, hf.EncodecEuclideanCodebook):
        _bind(m, "encode", encode)
        _bind(m, "decode", decode)
    return a


def residual_not_subtracted(a):
    # every RVQ stage quantises the encoder output, not the previous stage's residual
    def encode(self, embeddings, bandwidth=None):
        n_q = self.get_num_quantizers_for_bandwidth(bandwidth)
        return torch.stack([layer.encode(embeddings) for layer in self.layers[:n_q]])

    _bind(a.model.quantizer, "encode", encode)
    return a


def last_codebook_dropped(a):
    # decode sums codebooks 0 .. K-2 (range(len(codes) - 1))
    def decode(self, codes):
        out = torch.zeros((), device=codes.device)
        for i in range(len(codes) - 1):
            out = out + self.layers[i].decode(codes[i])
        return out

    _bind(a.model.quantizer, "decode", decode)
    return a


def decoder_half_precision(a):
    # the decoder run in float16
    decoder = a.model.decoder.half()
    forward = decoder.forward
    decoder.forward = lambda x: forward(x.half()).float()
    return a


def scale_not_applied(a):
    # decode forgets to multiply each chunk by its scale
    def decode_frame(self, codes, scale=None):
        return self.decoder(self.quantizer.decode(codes.transpose(0, 1)))

    _bind(a.model, "_decode_frame", decode_frame)
    return a


def scale_without_epsilon(a):
    # scale = rms, without the + 1e-8 (silence: a scale of 0, audio / 0)
    _bind(a.model, "_encode_frame", _encode_frame(_mono_rms))
    return a


def scale_from_all_channels(a):
    # scale = rms of every channel's samples, instead of the rms of the mono mix
    _bind(a.model, "_encode_frame", _encode_frame(
        lambda x: x.pow(2).mean(dim=(1, 2), keepdim=True).sqrt() + 1e-8))
    return a


def scale_over_batch(a):
    # one scale for the whole batch instead of one per item
    _bind(a.model, "_encode_frame", _encode_frame(
        lambda x: (x.mean(1).pow(2).mean().sqrt() + 1e-8).expand(x.shape[0], 1, 1)))
    return a


def flat_overlap_window(a):
    # overlap-add with a flat window (plain average) instead of the triangular one
    def overlap_add(frames, stride):
        total = stride * (len(frames) - 1) + frames[-1].shape[-1]
        out = torch.zeros(*frames[0].shape[:-1], total, dtype=frames[0].dtype)
        weight = torch.zeros(total, dtype=frames[0].dtype)
        for i, frame in enumerate(frames):
            out[..., i * stride: i * stride + frame.shape[-1]] += frame
            weight[i * stride: i * stride + frame.shape[-1]] += 1
        return out / weight

    a.model._linear_overlap_add = overlap_add
    return a


def chunk_overlap_ignored(a):
    # chunks at a stride of the chunk length (the 1 % overlap dropped from the config)
    a.model.config.overlap = 0.0
    return a


def last_chunk_padding_decoded(a):
    # decode ignores last_frame_pad_length: the last chunk's padding codes are decoded too
    decode = a.model.decode
    a.model.decode = lambda codes, scales, *args, last_frame_pad_length=0, **kw: decode(
        codes, scales, *args, **kw)
    return a


def stereo_channels_swapped(a):
    # the decoder's output channels in the wrong order (right, left)
    decoder = a.model.decoder
    forward = decoder.forward
    decoder.forward = lambda x: forward(x).flip(1)
    return a


def output_not_trimmed(a):
    # decode ignores the padding mask: the output keeps the last frame's padding
    decode = a.model.decode

    def untrimmed(codes, scales, padding_mask=None, *args, **kw):
        return decode(codes, scales, None, *args, **kw)

    a.model.decode = untrimmed
    return a


def padding_mask_trims_start(a):
    # decode trims to the padding mask's length from the start instead of the end
    decode = a.model.decode

    def trims_start(codes, scales, padding_mask=None, *args, **kw):
        out = decode(codes, scales, None, *args, **kw)
        if padding_mask is not None and padding_mask.shape[-1] < out.audio_values.shape[-1]:
            out.audio_values = out.audio_values[..., -padding_mask.shape[-1]:]
        return out

    a.model.decode = trims_start
    return a


def elu_inplace(a):
    # ELU(inplace=True): the residual blocks' first ELU overwrites the skip input
    for m in _each(a, nn.ELU):
        m.inplace = True
    return a


def bandwidth_ignored(a):
    # the bandwidth is not passed down to the quantizer: every codebook, at every bandwidth
    encode = a.model.quantizer.encode
    a.model.quantizer.encode = lambda embeddings, bandwidth=None: encode(embeddings, None)
    return a


def scale_broadcast_over_channels(a):
    # decode multiplies by scale.view(1, -1, 1): the batch's scales land on the channels
    def decode_frame(self, codes, scale=None):
        out = self.decoder(self.quantizer.decode(codes.transpose(0, 1)))
        return out if scale is None else out * scale.view(1, -1, 1)

    _bind(a.model, "_decode_frame", decode_frame)
    return a


def input_normalised_in_place(a):
    # encode renormalises the caller's audio in place (x /= scale on a view of the input)
    encode = a.model.encode

    def in_place(x, padding_mask=None, bandwidth=None, return_dict=None):
        out = encode(x, padding_mask, bandwidth, return_dict)
        scales = out.audio_scales if return_dict else out[1]
        x[..., : a.model.config.chunk_length].div_(scales[0].view(-1, 1, 1))
        return out

    a.model.encode = in_place
    return a


def decoder_float64(a):
    # the decoder run in float64 and its float64 audio returned (the protocol says float32)
    decoder = a.model.decoder.double()
    forward = decoder.forward
    decoder.forward = lambda x: forward(x.double())
    return a


def third_chunk_offset(a):
    # chunk i starts at i * chunk_length - overlap instead of i * stride: right for the first
    # two chunks, 480 samples late from the third on (48 kHz)
    model = a.model

    def encode(x, padding_mask=None, bandwidth=None, return_dict=None):
        length, stride = model.config.chunk_length, model.config.chunk_stride
        offsets = [0] + [i * length - (length - stride) for i in range(1, x.shape[-1])]
        frames, scales = [], []
        for offset in (o for o in offsets if o < x.shape[-1]):
            codes, scale = model._encode_frame(x[..., offset: offset + length], bandwidth)
            frames.append(codes)
            scales.append(scale)
        pad = frames[0].shape[-1] - frames[-1].shape[-1]
        frames[-1] = nn.functional.pad(frames[-1], (0, pad))
        out = (torch.stack(frames), scales, pad)
        return hf.EncodecEncoderOutput(*out) if return_dict else out

    model.encode = encode
    return a


def input_clamped(a):
    # the input clamped to [-1, 1] before encoding (valid audio may exceed full scale)
    encode = a.encode
    a.encode = lambda audio, bandwidth_kbps: encode(audio.clamp(-1.0, 1.0), bandwidth_kbps)
    return a


def output_clamped(a):
    # the decoded audio clamped to [-1, 1] (the reference returns what the decoder gives; the
    # 24 and 32 kHz golden decoders never exceed full scale, the 48 kHz one does)
    decode = a.decode

    def clamped(frames, length=None):
        return decode(frames, length).clamp(-1.0, 1.0)

    a.decode = clamped
    return a


def encode_input_halved_in_place(a):
    # the caller's tensor scaled in place, the codes computed from an exact copy: only the
    # caller's audio is wrong afterwards
    encode = a.encode

    def in_place(audio, bandwidth_kbps):
        audio.mul_(0.5)
        return encode(audio * 2.0, bandwidth_kbps)

    a.encode = in_place
    return a


# ---------------------------------------------------------------------------------- bugs
# Which checks run on a buggy adapter. Leaving checks out only makes "caught" harder to reach:
# each case's outcome is computed on its own (from memoised, deterministic encodes and
# decodes), whatever else runs, so a bug a subset catches is caught by the full suite as a
# user runs it. What is left out, and why:
# - `impl.properties`, always: it repeats the comparison of `impl.codes` / `impl.decode` on
#   hypothesis-drawn lengths of the speech signal, is the slowest check (seconds a family
#   clean), and on a failing implementation hypothesis shrinks (up to 40 s a bug). The clean
#   runs keep it, so it is proven not to fail spuriously.
# - for a bug injected on the decode side only (`side="decode"`: decoder, quantizer.decode,
#   overlap-add, decode, not reached by model.encode), the checks that only encode: they
#   cannot see it.
# - for a bug injected on the encode side only (`side="encode"`: encode, _encode_frame,
#   quantizer.encode, not reached by model.decode), the checks that only decode the
#   reference's codes with the implementation: its encoder never runs there.
ENCODE_ONLY = frozenset({"impl.frames", "impl.codes_dtype", "impl.codes", "impl.scales"})
DECODE_ONLY = frozenset({"impl.decode", "impl.decode_length", "impl.latents"})


@dataclass(frozen=True)
class Bug:
    inject: Callable
    family: str
    side: str = "both"  # "encode", "decode" or "both": which of the model's paths it touches
    crashes: str | None = None  # the bug shows as an exception: a fragment of its message

    @property
    def id(self) -> str:
        return self.inject.__name__

    def factory(self, weights):
        return self.inject(transformers_adapter(weights))

    def select(self, case: Case) -> bool:
        blind = {"encode": DECODE_ONLY, "decode": ENCODE_ONLY, "both": frozenset()}[self.side]
        return case.check.id != "impl.properties" and case.check.id not in blind


BUGS = [
    # padding side and mode, trim side, weight norm, activations, LSTM, RVQ, output length:
    # 32 kHz (non-causal: odd padding splits at the stride-5 layers; 4 codebooks; fastest)
    Bug(pad_split_reversed, "encodec_32khz"),
    Bug(zero_padding, "encodec_32khz"),
    Bug(reflect_short_input_unguarded, "encodec_32khz", crashes="Padding size"),
    Bug(convtr_trim_side_swapped, "encodec_32khz", side="decode"),
    Bug(weight_norm_wrong_dim, "encodec_32khz"),
    Bug(lstm_skip_dropped, "encodec_32khz"),
    Bug(elu_alpha_wrong, "encodec_32khz"),
    Bug(elu_inplace, "encodec_32khz"),
    Bug(codes_one_based, "encodec_32khz"),
    Bug(residual_not_subtracted, "encodec_32khz", side="encode"),
    Bug(last_codebook_dropped, "encodec_32khz", side="decode"),
    Bug(decoder_half_precision, "encodec_32khz", side="decode"),
    Bug(output_not_trimmed, "encodec_32khz", side="decode"),
    Bug(padding_mask_trims_start, "encodec_32khz", side="decode"),
    # causal layers, the conv shortcut, the bandwidth ladder: 24 kHz
    Bug(causal_padding_ignored, "encodec_24khz"),
    Bug(causal_convtr_trimmed_left, "encodec_24khz", side="decode"),
    Bug(extra_padding_dropped, "encodec_24khz"),
    Bug(conv_shortcut_dropped, "encodec_24khz"),
    Bug(bandwidth_ignored, "encodec_24khz", side="encode"),
    # chunks, scales, overlap-add, stereo, time_group_norm: 48 kHz
    Bug(scale_not_applied, "encodec_48khz", side="decode"),
    Bug(scale_without_epsilon, "encodec_48khz", side="encode"),
    Bug(scale_from_all_channels, "encodec_48khz", side="encode"),
    Bug(scale_over_batch, "encodec_48khz", side="encode"),
    Bug(scale_broadcast_over_channels, "encodec_48khz", side="decode"),
    Bug(input_normalised_in_place, "encodec_48khz", side="encode"),
    Bug(flat_overlap_window, "encodec_48khz", side="decode"),
    Bug(chunk_overlap_ignored, "encodec_48khz"),
    Bug(last_chunk_padding_decoded, "encodec_48khz", side="decode"),
    Bug(stereo_channels_swapped, "encodec_48khz", side="decode"),
    Bug(group_norm_per_channel, "encodec_48khz"),
    Bug(third_chunk_offset, "encodec_48khz", side="encode"),
    # output dtype, clamping, inputs modified in place
    Bug(decoder_float64, "encodec_32khz", side="decode"),
    Bug(input_clamped, "encodec_24khz", side="encode"),
    Bug(output_clamped, "encodec_48khz", side="decode"),
    Bug(encode_input_halved_in_place, "encodec_24khz", side="encode"),
]


def _caught(outcomes) -> list[str]:
    return sorted({o.check for o in outcomes if o.counts_against})


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: f"{b.id}@{b.family}")
def test_injected_bug_is_caught(bug, tmp_path, record_property):
    subject = implementation_subject(bug.factory, bug.family, workdir=tmp_path)
    outcomes = list(run_subject(subject, select=bug.select))
    against = [o for o in outcomes if o.counts_against]
    caught = _caught(outcomes)
    record_property("family", bug.family)
    record_property("caught_by", ",".join(caught))
    assert caught, f"{bug.id} on {bug.family}: no implementation check fails"
    if bug.crashes is None:
        # a failed comparison, not only crashes (which a typo in the injection would also give)
        failures = [o for o in against if o.status == Status.FAILED]
        assert failures, f"{bug.id}: only errors: {[o.reason for o in against][:3]}"
    else:
        assert all(bug.crashes in o.reason for o in against if o.status == Status.ERROR), \
            [o.reason for o in against][:3]


@pytest.mark.parametrize("family", FAMILIES)
def test_clean_adapter_passes(family, tmp_path, record_property):
    subject = implementation_subject(transformers_adapter, family, workdir=tmp_path)
    outcomes = list(run_subject(subject))
    record_property("outcomes", len(outcomes))
    against = [o.message() for o in outcomes if o.counts_against]
    assert not against, "\n".join(against)
    assert any(o.check == "impl.properties" and o.status == Status.PASSED for o in outcomes)
