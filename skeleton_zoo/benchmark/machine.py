"""The machine a benchmark runs on: CPU, theoretical float32 peak, the
practical GEMM ceiling, library versions and thread settings.

    peak GFLOP/s = cores x clock GHz x (effective SIMD bits / 32) float32 lanes
                   x 2 (FMA: multiply + add) x 2 (FMA units per core)

cores: the CPUs this process may run on (`os.sched_getaffinity`); SIMD width:
512 bits with avx512f, 256 with avx2 / avx, 128 with sse; AMD family 25
(0x19, Zen 3 / Zen 4) executes AVX-512 as two 256-bit halves, so its
effective width is 256 bits; the FMA factor is 1 without the fma flag; clock:
`/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq` when present, else
the "cpu MHz" of /proc/cpuinfo (often the nominal clock: turbo clocks make
`fraction_of_peak` exceed 1). The practical ceiling is the median GFLOP/s of
a float32 N x N `tf.matmul` (2 N^3 FLOPs).

With `--device gpu` (`configure_device`), the GPUs TensorFlow sees are
recorded (`gpu_info`: name, compute capability, memory from `nvidia-smi`
where it runs), the GEMM ceiling is measured on GPU:0 and no theoretical
peak is computed (the CPU's formula stays in `cpu`).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import pathlib
import platform
import shutil
import subprocess

import numpy as np

from skeleton_zoo.utils.timing import time_calls

__all__ = ["cores", "cpu_flags", "cpu_info", "versions", "gemm_ceiling", "gpu_info", "machine_info",
           "configure_device", "configure_threads"]


def _cpuinfo() -> dict:
    """First processor's "key: value" lines of /proc/cpuinfo ({} elsewhere)."""
    info = {}
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def cpu_flags() -> frozenset:
    """The CPU's feature flags from /proc/cpuinfo (x86 "flags", Arm "Features"; empty elsewhere)."""
    info = _cpuinfo()
    return frozenset((info.get("flags") or info.get("Features") or "").split())


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_info() -> dict:
    """The CPU and its theoretical float32 peak (see the module docstring).

    Returns:
        {"model", "vendor", "family", "cores", "simd", "simd_bits",
        "effective_simd_bits", "fma", "fma_units", "clock_ghz",
        "clock_source", "peak_gflops_per_s", "peak_formula"}.
    """
    info = _cpuinfo()
    flags = cpu_flags()
    vendor = info.get("vendor_id") or info.get("CPU implementer") or platform.machine()
    model = info.get("model name") or platform.processor() or platform.machine() or "unknown"
    try:
        family = int(info["cpu family"])
    except (KeyError, ValueError):
        family = None
    if "avx512f" in flags:
        simd, bits = "AVX-512", 512
    elif "avx2" in flags or "avx" in flags:
        simd, bits = ("AVX2" if "avx2" in flags else "AVX"), 256
    elif "sse" in flags or "sse2" in flags:
        simd, bits = "SSE", 128
    elif "asimd" in flags:
        simd, bits = "NEON", 128
    else:
        simd, bits = "scalar", 32
    effective = bits
    if bits == 512 and vendor == "AuthenticAMD" and family == 0x19:
        effective = 256  # Zen 3 / Zen 4: AVX-512 as two 256-bit halves
    fma = "fma" in flags or "asimd" in flags
    clock_ghz, source = None, None
    max_freq = pathlib.Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    try:
        clock_ghz = int(max_freq.read_text().strip()) / 1e6  # kHz
        source = str(max_freq)
    except (OSError, ValueError):
        try:
            clock_ghz = float(info["cpu MHz"]) / 1e3
            source = "/proc/cpuinfo cpu MHz"
        except (KeyError, ValueError):
            pass
    n_cores = cores()
    lanes = effective // 32
    fma_factor, fma_units = (2 if fma else 1), 2
    if clock_ghz:
        peak = n_cores * clock_ghz * lanes * fma_factor * fma_units
        formula = (f"{n_cores} cores x {clock_ghz:.3g} GHz x ({effective} bit / 32 bit = {lanes} lanes) x "
                   f"{fma_factor} ({'FMA' if fma else 'no FMA'}) x {fma_units} FMA units = {peak:.1f} GFLOP/s")
    else:
        peak, formula = None, "unknown: no clock frequency found"
    return {"model": model, "vendor": vendor, "family": family, "cores": n_cores, "simd": simd,
            "simd_bits": bits, "effective_simd_bits": effective, "fma": fma, "fma_units": fma_units,
            "clock_ghz": clock_ghz, "clock_source": source, "peak_gflops_per_s": peak,
            "peak_formula": formula}


def versions() -> dict:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("tensorflow", "keras", "jax", "jaxlib", "onnxruntime", "ai-edge-litert", "tf2onnx", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def gemm_ceiling(size: int = 2048, repeats: int = 10, warmup: int = 2, device: str | None = None) -> dict:
    """Practical float32 ceiling: a size x size `tf.matmul` in a `tf.function`.

    The function returns the sum of the product (size^2 adds, not counted),
    so the timed call fetches a scalar. FLOPs: 2 size^3.

    Args:
        device: TensorFlow device, e.g. "/GPU:0"; None: TensorFlow's default
            (the CPU when `configure_device("cpu")` hid the GPUs).

    Returns:
        {"size", "flops", "median_s", "gflops_per_s", "times_s", "device"}.
    """
    import tensorflow as tf

    rng = np.random.default_rng(0)
    with tf.device(device) if device else contextlib.nullcontext():
        a = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
        b = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
        spec = tf.TensorSpec((size, size), tf.float32)
        function = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)), input_signature=[spec, spec],
                               autograph=False)
        times = time_calls(lambda _: function(a, b).numpy(), None, warmup, repeats)
    median = float(np.median(times))
    flops = 2 * size**3
    return {"size": size, "flops": flops, "median_s": median, "gflops_per_s": flops / median / 1e9,
            "times_s": times, "device": (device or "/CPU:0").lstrip("/")}


def _nvidia_smi_memory() -> list[tuple[str, int]]:
    """[(name, total MiB)] of every GPU `nvidia-smi` lists ([] without it)."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        text = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=30, check=True).stdout
        rows = [line.rsplit(",", 1) for line in text.splitlines() if "," in line]
        return [(name.strip(), int(memory)) for name, memory in rows]
    except (OSError, subprocess.SubprocessError, ValueError):
        return []


def gpu_info(gpus=None) -> list[dict]:
    """The GPUs TensorFlow sees.

    Args:
        gpus: `tf.config.list_physical_devices("GPU")` (default: listed here).

    Returns:
        [{"device": "GPU:i", "name", "compute_capability": "8.0" or None,
        "memory_total_mib": int or None (nvidia-smi's, matched by name)}].
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU") if gpus is None else gpus
    memory = _nvidia_smi_memory()
    info = []
    for i, gpu in enumerate(gpus):
        details = tf.config.experimental.get_device_details(gpu)
        name = details.get("device_name") or gpu.name
        capability = details.get("compute_capability")
        match = next((k for k, (n, _) in enumerate(memory) if n == name), None)
        info.append({"device": f"GPU:{i}", "name": name,
                     "compute_capability": ".".join(map(str, capability)) if capability else None,
                     "memory_total_mib": memory.pop(match)[1] if match is not None else None})
    return info


def configure_device(device: str) -> tuple[list | None, list]:
    """Before any TF op runs: "cpu" hides the GPUs from TensorFlow (the
    benchmark is then a CPU benchmark wherever it runs); "gpu" lets TF's GPU
    memory grow as needed (the jax child and onnxruntime share the GPU).

    Args:
        device: "cpu" or "gpu".

    Returns:
        (`gpu_info()` for "gpu", else None; notes).

    Raises:
        RuntimeError: "gpu" and TensorFlow sees no GPU.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    notes = []
    if device != "gpu":
        if gpus:
            try:
                tf.config.set_visible_devices([], "GPU")
            except RuntimeError as error:  # TensorFlow already ran ops in this process
                notes.append(f"TensorFlow's GPUs could not be hidden ({error}); keras / xla may have run on one.")
        return None, notes
    if not gpus:
        raise RuntimeError("--device gpu: TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is "
                           "empty); expected a CUDA GPU and TensorFlow with CUDA (pip install 'tensorflow[and-cuda]'), "
                           "or use --device cpu.")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:
            notes.append(f"{gpu.name}: GPU memory growth not set ({error}).")
    if tf.config.experimental.tensor_float_32_execution_enabled():
        notes.append("TensorFlow's TensorFloat-32 execution is on (its default): on Ampere and newer GPUs, "
                     "float32 matmuls and convolutions (the GEMM ceiling too) run with TF32 inputs.")
    return gpu_info(gpus), notes


def machine_info(gemm: dict | None = None, gpus: list | None = None) -> dict:
    """CPU, peak, GEMM ceiling (`gemm_ceiling()`'s dict, or None), GPUs
    (`gpu_info()`, or None on the CPU), library versions, OS and date. With
    GPUs there is no peak: the GEMM ceiling is the GPU's."""
    cpu = cpu_info()
    peak, formula = cpu["peak_gflops_per_s"], cpu["peak_formula"]
    if gpus:
        peak, formula = None, "not computed for --device gpu (the CPU's is in machine.cpu)"
    return {"cpu": cpu, "peak_gflops_per_s": peak, "peak_formula": formula, "gemm": gemm, "gpus": gpus,
            "versions": versions(), "os": platform.platform(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def configure_threads(threads: int) -> tuple[dict, list]:
    """Sets TensorFlow's thread pools (before any TF op runs); returns the
    counts in effect for every runtime and notes.

    TensorFlow gets N intra-op and N inter-op threads, its default when N
    is every core (what `train`, `classify` and `lift` run with): independent
    ops run side by side on the same N cores. Training T-TR, whose backward
    pass has many small independent products (the attention joint by joint,
    each GEMM's two gradients), an inter-op pool of 1 was 1.3-1.4x slower on
    2 cores; S-TR and inference were level.

    ONNX Runtime and LiteRT take `threads` as they are created. The jax
    child process runs on min(threads, cores) CPUs of this process
    (`sched_setaffinity`: XLA sizes its CPU thread pool by the schedulable
    CPUs, and has no flag for a count)."""
    import tensorflow as tf

    n_cores = cores()
    n = threads or n_cores
    notes = []
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError as error:  # TensorFlow already ran ops in this process
        notes.append(f"TensorFlow thread pools were already initialised ({error}); TF runs with the "
                     f"counts shown.")
    # 0 means TensorFlow's default: one thread per schedulable CPU.
    intra = tf.config.threading.get_intra_op_parallelism_threads() or n_cores
    inter = tf.config.threading.get_inter_op_parallelism_threads() or n_cores
    return {"tf_intra": intra, "tf_inter": inter, "jax": min(n, n_cores), "onnxruntime": n, "tflite": n}, notes
