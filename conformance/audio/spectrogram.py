"""Log-magnitude spectrograms with their axes: what the plots draw (`conformance.reporting.plots`).

`log_spectrogram(wav, sample_rate)` mixes `wav` to mono and returns a `Spectrogram`: the
magnitude in dB [frequency, frame] of a Hann-windowed STFT (hop a quarter of the window),
with the time of each frame in seconds and the frequency of each bin in Hz (0 to Nyquist).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from conformance.errors import InvalidArgument

__all__ = ["DYNAMIC_RANGE_DB", "N_FFT", "Spectrogram", "log_spectrogram"]

#: Default STFT window (samples).
N_FFT = 512
#: How far below the loudest bin the plots' colour scale reaches (dB).
DYNAMIC_RANGE_DB = 80.0
#: Magnitudes are floored here before taking dB (no log of zero).
_FLOOR = 1e-10


@dataclass(frozen=True)
class Spectrogram:
    """`db` [frequency bins, frames] with `times` (s, one per frame) and `freqs` (Hz, one per
    bin, 0 to `sample_rate` / 2)."""

    db: np.ndarray
    times: np.ndarray
    freqs: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame centre."""
        return float(self.times[-1]) if len(self.times) else 0.0


def log_spectrogram(wav: torch.Tensor, sample_rate: int, n_fft: int = N_FFT) -> Spectrogram:
    """The dB spectrogram of a mono mix of `wav` ([T] or [C, T]) at `sample_rate` Hz."""
    if int(sample_rate) <= 0:
        raise InvalidArgument(f"sample_rate={sample_rate}: must be a positive number of Hz")
    x = torch.as_tensor(wav).detach().float().cpu()
    if x.dim() == 2:
        x = x.mean(0)
    if x.dim() != 1 or x.numel() < n_fft:
        raise InvalidArgument(f"audio of shape {tuple(torch.as_tensor(wav).shape)}: a "
                              "spectrogram needs a [T] or [C, T] signal of at least "
                              f"{n_fft} samples")
    if not bool(torch.isfinite(x).all()):
        raise InvalidArgument("audio contains NaN or infinite samples: a spectrogram needs "
                              "finite samples")
    hop = n_fft // 4
    spec = torch.stft(x, n_fft, hop_length=hop, window=torch.hann_window(n_fft),
                      return_complex=True).abs()
    db = (20 * torch.log10(spec.clamp_min(_FLOOR))).numpy()
    times = np.arange(db.shape[1]) * hop / float(sample_rate)
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / float(sample_rate))
    return Spectrogram(db=db, times=times, freqs=freqs, sample_rate=int(sample_rate))
