"""Coding a signal that arrives in blocks, at several bandwidths, in memory bounded by the
segment length instead of the file length.

`SegmentCoder(model, bandwidths)` takes blocks of audio at the model's rate and channels
(`feed`, then `finish`) and returns `Piece`s: consecutive stretches of the input with the
decode of each bandwidth for the same samples. The codes are computed once per segment, with
the top bandwidth's codebooks, and each bandwidth decodes their first `n_q` (residual VQ:
the codes of a lower bandwidth are exactly a prefix of a higher one's). The strategy depends
on the model (`strategy_for`):

- `streaming` (causal, unchunked models, e.g. encodec_24khz): the encoder and one decoder per
  bandwidth run block by block carrying every layer's state (`conformance.corpus.streaming`).
  No boundary effect: the result is whole-file coding, equal to it up to float rounding of the
  same size as the whole-file pass's own variation between thread counts (codes identical in
  the tests).
- `chunks` (chunked models, e.g. encodec_48khz): the model itself codes `segment`-second
  chunks independently and overlap-adds them; here each chunk is taken at the model's own
  chunk stride, coded as the whole-file pass codes it, and the overlap-add is accumulated in
  the same order. Bitwise equal to whole-file coding.
- `overlap` (non-causal unchunked models, e.g. encodec_32khz): each core of
  `max(segment_seconds, 4 * context_seconds)` is coded with `context_seconds` of real signal
  on each side, which are then dropped (so at most a third of the coding is context). This is
  an approximation (non-causal convolutions look ahead, and the LSTM remembers the whole
  past): `docs/corpus_validation.md` gives the measured band against whole-file coding. A file
  no longer than one core plus one context is coded in one pass, exactly.

Memory grows with the audio coded per step, not with the file: about 40 MB per second of
24 kHz audio for the golden 24 kHz model (activations, and what the allocator keeps), hence
the 2 s default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from conformance.corpus.streaming import StreamingDecoder, StreamingEncoder, streamable
from conformance.errors import InvalidArgument
from conformance.model.chunking import overlap_add_weight
from conformance.model.encodec import EncodecModel

__all__ = ["CORE_CONTEXTS", "DEFAULT_CONTEXT_SECONDS", "DEFAULT_SEGMENT_SECONDS", "Piece",
           "SegmentCoder", "strategy_for"]

#: Audio coded per step (streaming: a block; overlap: the shortest core), seconds.
DEFAULT_SEGMENT_SECONDS = 2.0
#: Real signal coded on each side of an `overlap` core and dropped, seconds.
DEFAULT_CONTEXT_SECONDS = 1.0
#: An `overlap` core is at least this many contexts long.
CORE_CONTEXTS = 4


def strategy_for(model: EncodecModel) -> tuple[str, str]:
    """("streaming" | "chunks" | "overlap", why)."""
    cfg = model.cfg
    if cfg.segment is not None:
        return "chunks", (f"the model codes {cfg.segment:g} s chunks independently "
                          f"(stride {cfg.segment_stride} samples)")
    ok, why = streamable(cfg)
    if ok:
        return "streaming", "the model is causal: every layer's state is carried"
    return "overlap", why


@dataclass
class Piece:
    """Input samples [C, n] (model rate) and, per bandwidth, the decode of the same samples."""

    reference: torch.Tensor
    decodes: dict[float, torch.Tensor] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return int(self.reference.shape[-1])


class _Aligner:
    """Queues of input and decoded samples, emitted as aligned pieces (at most `limit`
    samples in all, the input length, once it is known)."""

    def __init__(self, bandwidths: list[float]) -> None:
        self.queues: dict[Any, list[torch.Tensor]] = {"ref": [], **{bw: [] for bw in bandwidths}}
        self.sizes: dict[Any, int] = {k: 0 for k in self.queues}
        self.emitted = 0
        self.limit: int | None = None

    def push(self, key: Any, x: torch.Tensor) -> None:
        if x.shape[-1]:
            self.queues[key].append(x)
            self.sizes[key] += x.shape[-1]

    def _take(self, key: Any, n: int) -> torch.Tensor:
        out, need = [], n
        q = self.queues[key]
        while need:
            head = q[0]
            if head.shape[-1] <= need:
                out.append(head)
                q.pop(0)
                need -= head.shape[-1]
            else:
                out.append(head[..., :need])
                q[0] = head[..., need:]
                need = 0
        self.sizes[key] -= n
        return out[0] if len(out) == 1 else torch.cat(out, dim=-1)

    def drain(self) -> list[Piece]:
        n = min(self.sizes.values())
        if self.limit is not None:
            n = min(n, self.limit - self.emitted)
        if n <= 0:
            return []
        self.emitted += n
        ref = self._take("ref", n).contiguous()
        return [Piece(ref, {k: self._take(k, n).contiguous()
                            for k in self.queues if k != "ref"})]

    def check_complete(self) -> None:
        if self.limit is not None and self.emitted != self.limit:
            raise AssertionError(f"coded {self.emitted} of {self.limit} samples")


class SegmentCoder:
    """Blocks in, aligned input/decode pieces out; see the module doc for the strategies.

    `device` is where the model runs (the pieces come back on the CPU). Give the blocks as
    float32 [C, n] at the model's rate and channel count.
    """

    def __init__(self, model: EncodecModel, bandwidths: list[float], *,
                 segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
                 context_seconds: float = DEFAULT_CONTEXT_SECONDS,
                 device: torch.device | str = "cpu") -> None:
        if not bandwidths:
            raise InvalidArgument("no bandwidth to code at")
        if not (segment_seconds > 0 and math.isfinite(segment_seconds)):
            raise InvalidArgument(f"segment_seconds={segment_seconds}: must be > 0")
        if not (context_seconds >= 0 and math.isfinite(context_seconds)):
            raise InvalidArgument(f"context_seconds={context_seconds}: must be >= 0")
        self.model = model
        self.device = torch.device(device)
        self.bandwidths = [float(b) for b in bandwidths]
        self.n_q = {bw: model.n_q_for_bandwidth(bw) for bw in self.bandwidths}
        self.top = max(self.n_q.values())
        self.strategy, self.why = strategy_for(model)
        hop = model.hop_length
        sr = model.sample_rate
        self.context = math.ceil(context_seconds * sr / hop) * hop
        self.segment = max(1, round(segment_seconds * sr / hop)) * hop
        if self.strategy == "overlap":
            self.segment = max(self.segment, CORE_CONTEXTS * self.context)
        self.seen = 0
        self.out = _Aligner(self.bandwidths)
        self.finished = False
        if self.strategy == "streaming":
            self.encoder = StreamingEncoder(model)
            self.decoders = {bw: StreamingDecoder(model) for bw in self.bandwidths}
        else:
            self.buffer: torch.Tensor | None = None
            self.buffer_start = 0
            self.next_start = 0  # next chunk offset (chunks) or core start (overlap)
        if self.strategy == "chunks":
            self.chunk = model.cfg.segment_length
            self.stride = model.cfg.segment_stride
            self.chunks = 0
            self.first_frames: dict[float, torch.Tensor] = {}
            self.acc: dict[float, torch.Tensor] = {}
            self.weight_acc: dict[float, torch.Tensor] = {}
            self.acc_start: dict[float, int] = {bw: 0 for bw in self.bandwidths}
            self.weight: torch.Tensor | None = None

    # ----------------------------------------------------------------------------- public
    def describe(self) -> dict[str, Any]:
        """How the signal is coded, for the results file."""
        sr = self.model.sample_rate
        out: dict[str, Any] = {"strategy": self.strategy, "why": self.why,
                               "codes_from_bandwidth": max(self.bandwidths)}
        if self.strategy == "overlap":
            out.update(segment_seconds=self.segment / sr, context_seconds=self.context / sr,
                       exact_up_to_seconds=(self.segment + self.context) / sr)
        elif self.strategy == "chunks":
            out.update(chunk_samples=self.chunk, stride_samples=self.stride)
        return out

    def feed(self, block: torch.Tensor) -> list[Piece]:
        if self.finished:
            raise InvalidArgument("the coder has finished: make a new one per signal")
        if block.dim() != 2 or block.shape[0] != self.model.channels:
            raise InvalidArgument(f"block.shape={tuple(block.shape)}: expected "
                                  f"[{self.model.channels}, n]")
        if block.shape[-1] == 0:
            return []
        block = block.float()
        self.seen += block.shape[-1]
        self.out.push("ref", block)
        with torch.inference_mode():
            getattr(self, f"_feed_{self.strategy}")(block)
        return self.out.drain()

    def finish(self) -> list[Piece]:
        if self.finished:
            return []
        self.finished = True
        if self.seen == 0:
            raise InvalidArgument("no samples were coded")
        self.out.limit = self.seen
        with torch.inference_mode():
            getattr(self, f"_finish_{self.strategy}")()
        pieces = self.out.drain()
        self.out.check_complete()
        return pieces

    # -------------------------------------------------------------------------- helpers
    def _decode_codes(self, codes: torch.Tensor, bw: float) -> torch.Tensor:
        return self.model.quantizer.decode(codes[:, : self.n_q[bw]])

    def _push_decode(self, bw: float, wav: torch.Tensor | None) -> None:
        if wav is not None and wav.shape[-1]:
            self.out.push(bw, wav[0].float().cpu())

    def _append(self, block: torch.Tensor) -> None:
        self.buffer = block if self.buffer is None else torch.cat([self.buffer, block], -1)

    def _slice(self, start: int, stop: int) -> torch.Tensor:
        return self.buffer[..., start - self.buffer_start: stop - self.buffer_start]

    def _trim(self, keep_from: int) -> None:
        cut = keep_from - self.buffer_start
        if cut > 0:
            self.buffer = self.buffer[..., cut:]
            self.buffer_start = keep_from

    # ------------------------------------------------------------------------ streaming
    def _stream(self, z: torch.Tensor | None, final: bool) -> None:
        codes = None
        if z is not None and z.shape[-1]:
            codes = self.model.quantizer.encode(z, self.top)
        for bw, decoder in self.decoders.items():
            if codes is not None:
                self._push_decode(bw, decoder.step(self._decode_codes(codes, bw)))
            if final:
                self._push_decode(bw, decoder.flush())

    def _feed_streaming(self, block: torch.Tensor) -> None:
        self._stream(self.encoder.step(block.to(self.device)[None]), final=False)

    def _finish_streaming(self) -> None:
        self._stream(self.encoder.flush(), final=True)

    # --------------------------------------------------------------------------- chunks
    def _feed_chunks(self, block: torch.Tensor) -> None:
        self._append(block)
        while self.next_start + self.chunk <= self.seen:
            self._code_chunk(self._slice(self.next_start, self.next_start + self.chunk))

    def _finish_chunks(self) -> None:
        while self.next_start < self.seen:
            self._code_chunk(self._slice(self.next_start, min(self.next_start + self.chunk,
                                                              self.seen)))
        if self.chunks == 1:  # one chunk: the model returns its decode as it is
            for bw, frame in self.first_frames.items():
                self._push_decode(bw, frame)
            return
        for bw in self.bandwidths:
            self._push_decode(bw, self._blended(bw, None))

    def _code_chunk(self, piece: torch.Tensor) -> None:
        start = self.next_start
        coded = self.model._encode_chunk(piece.to(self.device)[None], self.top)
        for bw in self.bandwidths:
            frame = self.model._decode_chunk(coded.codes[:, : self.n_q[bw]], coded.scale)
            if self.chunks == 0:
                self.first_frames[bw] = frame
            self._accumulate(bw, frame, start)
        self.chunks += 1
        self.next_start += self.stride
        self._trim(self.next_start)
        if self.seen > self.stride:  # more than one chunk: positions before the next are final
            self.first_frames.clear()
            for bw in self.bandwidths:
                self._push_decode(bw, self._blended(bw, self.next_start))

    def _accumulate(self, bw: float, frame: torch.Tensor, start: int) -> None:
        """`linear_overlap_add`'s sums, in its order: out += w * frame; wsum += w."""
        if self.weight is None:
            self.weight = overlap_add_weight(frame.shape[-1], dtype=frame.dtype,
                                             device=frame.device)
        n = frame.shape[-1]
        if n > self.weight.shape[0]:
            raise InvalidArgument(f"chunk at {start} decodes to {n} samples, more than the "
                                  f"first chunk's {self.weight.shape[0]}")
        acc = self.acc.get(bw)
        end = start + n
        if acc is None:
            acc = frame.new_zeros(*frame.shape[:-1], 0)
            self.weight_acc[bw] = frame.new_zeros(0)
        have = self.acc_start[bw] + acc.shape[-1]
        if end > have:
            acc = torch.cat([acc, frame.new_zeros(*frame.shape[:-1], end - have)], dim=-1)
            self.weight_acc[bw] = torch.cat([self.weight_acc[bw],
                                             frame.new_zeros(end - have)])
        lo = start - self.acc_start[bw]
        acc[..., lo: lo + n] += self.weight[:n] * frame
        self.weight_acc[bw][lo: lo + n] += self.weight[:n]
        self.acc[bw] = acc

    def _blended(self, bw: float, until: int | None) -> torch.Tensor:
        """The finished part of the overlap-add (before `until`; None: all), divided by the
        summed weights, and dropped from the accumulator."""
        acc, wsum = self.acc[bw], self.weight_acc[bw]
        n = acc.shape[-1] if until is None else max(0, until - self.acc_start[bw])
        if n and float(wsum[:n].min()) <= 0:
            raise InvalidArgument("the chunk stride leaves gaps between chunks")
        out = acc[..., :n] / wsum[:n]
        self.acc[bw], self.weight_acc[bw] = acc[..., n:], wsum[n:]
        self.acc_start[bw] += n
        return out

    # -------------------------------------------------------------------------- overlap
    def _feed_overlap(self, block: torch.Tensor) -> None:
        self._append(block)
        while self.seen > self.next_start + self.segment + self.context:
            self._code_core(self.next_start, self.next_start + self.segment,
                            self.next_start + self.segment + self.context)

    def _finish_overlap(self) -> None:
        if self.next_start < self.seen:
            self._code_core(self.next_start, self.seen, self.seen)

    def _code_core(self, start: int, stop: int, right: int) -> None:
        left = max(0, start - self.context)
        piece = self._slice(left, right).to(self.device)[None]
        encoded = self.model.encode(piece, n_q=self.top)
        codes = encoded.chunks[0].codes
        scale = encoded.chunks[0].scale
        for bw in self.bandwidths:
            wav = self.model._decode_chunk(codes[:, : self.n_q[bw]], scale)
            self._push_decode(bw, wav[..., start - left: stop - left])
        self.next_start = stop
        self._trim(max(0, stop - self.context))
