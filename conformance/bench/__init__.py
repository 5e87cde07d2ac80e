"""Throughput benchmarks of the reference model, its fast path and the peer implementations.

- `timing`: warm-up, interleaved rounds, median and IQR, pinned threads, CUDA-aware timers;
- `roofline`: FLOPs (FlopCounterMode plus the LSTMs), minimum bytes from the layer shapes,
  measured device peaks, and a run's fraction of the floor;
- `memory`: the peak memory of one call;
- `implementations`: reference, fast path (fp32/bf16/fp16, ablation steps), transformers and
  the original `encodec` package, all built from the same weights;
- `runner`: the matrix (family x batch x duration x device x implementation, decode and
  encode), implementations interleaved within each case;
- `results`: pytest-benchmark-compatible JSON and a readable table.

`encodec-conformance bench` runs it from the command line. Nothing here asserts a speed.
"""
