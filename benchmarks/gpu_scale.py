"""The scale sections of benchmarks/gpu.py: streamed paper scale on a synthetic ImageNet-shaped
ImageFolder (f) and the float64 sums of the similarity jobs, numpy against torch (g).  Each
takes gpu.Options and emits its figures through gpu.emit.
"""

from __future__ import annotations

import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gpu_record import ROOT, Options, emit  # noqa: E402

#: ImageNet (ILSVRC-2012): training images, and the probe of config/paper.yaml (all of val)
IMAGENET_TRAIN = 1_281_167
#: Li et al.'s networks: the stock CaffeNet solver, 450,000 iterations of 256 images
#: (/work/shared/reference/li2016.md; config/paper.yaml: 90 epochs)
PAPER_EPOCHS = 90
#: a typical ImageNet photograph (width, height)
PHOTO = (500, 375)


# ------------------------------------------------------------------ f: paper scale
def _photo(args: tuple[Path, int]) -> None:
    """One smooth random photograph (JPEG compresses it about as well as a real one)."""
    from PIL import Image

    path, seed = args
    rng = np.random.default_rng(seed)
    small = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
    image = Image.fromarray(small).resize(PHOTO, Image.BICUBIC)
    noisy = np.asarray(image, dtype=np.int16) + rng.integers(-8, 9, (*PHOTO[::-1], 3))
    Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(path, quality=90)


def make_image_folder(root: Path, classes: int, per_class: int, processes: int) -> Path:
    """An ImageNet-shaped tree: train/ and val/ with ``classes`` class folders, ``per_class``
    JPEGs each in val/ (the probe) and 4 in train/ (classes are read from train/)."""
    jobs = []
    for split, n in (("val", per_class), ("train", 4)):
        for c in range(classes):
            folder = root / split / f"n{c:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            jobs += [(folder / f"{split}_{c}_{i}.JPEG", len(jobs) + i) for i in range(n)]
    with get_context("fork").Pool(processes) as pool:
        pool.map(_photo, jobs, chunksize=16)
    return root


def _rate(images: int, seconds: float) -> float:
    return images / seconds if seconds > 0 else float("nan")


def paper_scale(opts: Options) -> None:
    """CaffeNet at 227 px on a synthetic ImageFolder: the probe loader as the stream jobs use
    it, the forward pass with every layer's cross sums (loader-fed and device-fed), a training
    step, and the projection to Li et al.'s four CaffeNets."""
    import os

    import torch
    from torch.utils.data import DataLoader

    from convergent import models
    from convergent.data import DataSpec, image_folder, probe_batches
    from convergent.moments.forward import network_cross_moments, network_moments

    device = torch.device(opts.device)
    classes, per_class = (2, 4) if opts.quick else (8, 100)
    batch = 4 if opts.quick else 250
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        root = make_image_folder(Path(tmp), classes, per_class, os.cpu_count() or 1)
        n = classes * per_class
        emit("f", "synthetic ImageFolder", f"{n} probe JPEGs {PHOTO[0]}x{PHOTO[1]}",
             note=f"made in {time.perf_counter() - start:.1f} s")
        spec = DataSpec("imagefolder", str(root))
        probe = {"split": "test", "size": n, "seed": 0, "batch_size": batch}

        def loader():
            return probe_batches(spec, probe, "caffenet")[1]

        start = time.perf_counter()
        for _ in loader():
            pass
        decode = _rate(n, time.perf_counter() - start)
        emit("f", "probe loader alone (one process, as the stream jobs run it)", round(decode),
             "img/s")

        readouts = dict(models.READOUTS["caffenet"])
        nets = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            nets.append(models.build("caffenet", classes, 3, 227).to(device).eval())
        sync = torch.cuda.synchronize if opts.gpu else (lambda: None)
        first = next(iter(loader()))
        network_cross_moments(*nets, readouts, [first], len(first), 2)  # warm-up
        sync()
        start = time.perf_counter()
        network_cross_moments(*nets, readouts, loader(), n, 10)
        sync()
        fed = _rate(n, time.perf_counter() - start)
        emit("f", "pair forward + every layer's cross sums, loader-fed", round(fed), "img/s")

        x = torch.randn(batch, 3, 227, 227, device=device)
        reps = 2 if opts.quick else 8

        def device_fed(run, *nets_used) -> float:
            sync()
            start = time.perf_counter()
            run(*nets_used, readouts, [x] * reps, batch * reps, 10)
            sync()
            return _rate(batch * reps, time.perf_counter() - start)

        pair_gpu = device_fed(network_cross_moments, *nets)
        emit("f", "pair forward + cross sums, device-fed", round(pair_gpu), "img/s")
        single_gpu = device_fed(network_moments, nets[0])
        emit("f", "one net forward + within sums, device-fed", round(single_gpu), "img/s")

        train_gpu = _train_rate(opts)
        emit("f", "CaffeNet training step, device-fed", round(train_gpu), "img/s",
             note="SGD; on a GPU bf16, channels_last, batch 256")
        workers = min(12, os.cpu_count() or 1)  # config/paper.yaml's training.num_workers
        ds = image_folder(str(root), "test", True, 227, arch="caffenet")
        dl = DataLoader(ds, batch_size=max(1, n // 8), shuffle=True, num_workers=workers)
        batches = iter(dl)
        next(batches)  # the workers' start
        start, seen = time.perf_counter(), 0
        for xb, _ in batches:
            seen += len(xb)
        train_load = _rate(seen, time.perf_counter() - start)
        emit("f", f"training loader ({workers} workers: decode, crop, flip)", round(train_load),
             "img/s", note="few images: a rough figure")
    project(decode, pair_gpu, single_gpu, train_gpu, train_load)


def _train_rate(opts: Options) -> float:
    """Images/s of CaffeNet's training step on device-resident random batches."""
    import torch

    from convergent import models

    device = torch.device(opts.device)
    batch = 4 if opts.quick else 256
    net = models.build("caffenet", 1000, 3, 227).to(device)
    if opts.gpu:
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 227, 227, device=device)
    y = torch.randint(0, 1000, (batch,), device=device)
    if opts.gpu:
        x = x.contiguous(memory_format=torch.channels_last)
    sync = torch.cuda.synchronize if opts.gpu else (lambda: None)

    def step():
        with torch.autocast(opts.device, dtype=torch.bfloat16, enabled=opts.gpu):
            loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    steps = 2 if opts.quick else 30
    for _ in range(3):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return _rate(batch * steps, time.perf_counter() - start)


def project(decode: float, pair_gpu: float, single_gpu: float, train_gpu: float,
            train_load: float) -> None:
    """Li et al.'s four CaffeNets at config/paper.yaml's settings, in GPU-hours: training at the
    slower of the device and the loader, then every streamed analysis pass over the 50,000
    probe images at the slower of the one-process probe loader and the device."""
    import yaml

    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    m = len(config["models"])
    pairs = m * (m - 1) // 2
    # each seed against the untrained network (similarity.nulls.untrained: on by default)
    nulls = m if config.get("similarity", {}).get("nulls", {}).get("untrained", True) else 0
    probe = config["probe"]["size"]
    train_rate = min(train_gpu, train_load)
    train_h = m * PAPER_EPOCHS * IMAGENET_TRAIN / train_rate / 3600
    # passes over the probe: (decoded images per probe image, networks run, count) per rule
    passes = {
        "stream_moments (seeds + the untrained net)": (1, 1, m + 1),
        "stream_top_units": (1, 1, m),
        "stream_compare": (1, 2, pairs),
        "stream_mutual_information (edges, histograms)": (1, 2, 2 * pairs),
        "stream_similarity pass 1": (1, 2, pairs + nulls),
        "stream_similarity pass 2 (shuffled: two loaders)": (2, 2, pairs + nulls),
    }
    analysis_h = 0.0
    for rule, (decodes, nets, count) in passes.items():
        gpu_rate = pair_gpu if nets == 2 else single_gpu
        seconds = count * probe / min(decode / decodes, gpu_rate)
        analysis_h += seconds / 3600
        emit("f", f"projected {rule}: {count} passes", round(seconds / 3600, 2), "GPU-h")
    emit("f", "assumptions", f"{m} CaffeNets x {PAPER_EPOCHS} epochs x {IMAGENET_TRAIN:,} "
         f"images at {train_rate:,.0f} img/s (min of device {train_gpu:,.0f} and loader "
         f"{train_load:,.0f}); {probe:,} probe images per pass at min(probe loader "
         f"{decode:,.0f}, device) img/s; one GPU per job, no queueing; histogram work of MI "
         "and the similarity measures' CPU work not counted")
    emit("f", "projected training, four CaffeNets", round(train_h, 1), "GPU-h")
    emit("f", "projected streamed analyses", round(analysis_h, 1), "GPU-h")
    emit("f", "projected total (Li et al.'s study)", round(train_h + analysis_h, 1), "GPU-h")


# ------------------------------------------------------------------ g: the sums
def sums(opts: Options) -> None:
    """Per-block float64 cross sums XᵀY of a similarity job's shapes: numpy (the analysis job's
    1 thread, and every core) against torch on the device, the chunks copied there as a job
    copies them; the same sums to ~1e-15; where the device starts to pay."""
    import torch
    from threadpoolctl import threadpool_limits

    from convergent.analysis.blocks import BlockMoments
    from convergent.moments.sums import AUTO_MIN_FLOP, DeviceMoments

    device = "cuda" if opts.gpu else "cpu"
    start = time.perf_counter()
    warm = DeviceMoments(2, 8, 8, device)
    warm.add(0, np.ones((4, 8)))
    warm.numpy()
    start_s = time.perf_counter() - start
    emit("g", f"torch on {device}: first sums of a job (start-up)", round(start_s, 3), "s")
    shapes = [(2_000, 64), (4_000, 128)] if opts.quick else [
        (50_000, 256), (50_000, 1024), (20_000, 2048), (10_000, 4096)]
    chunk = 8192
    rng = np.random.default_rng(0)
    crossover = None
    for rows, p in shapes:
        x = np.maximum(rng.standard_normal((rows, p)), 0)
        y = np.maximum(x + 0.5 * rng.standard_normal((rows, p)), 0)
        flop = 2.0 * rows * p * p
        # numpy on at most ~2e10 FLOP of the rows, scaled (a GEMM's time is linear in rows)
        part = min(rows, max(chunk, int(2e10 / (2 * p * p))))
        timings = {}
        for threads in (1, None):
            with threadpool_limits(threads):
                m = BlockMoments.zeros(10, p, p)
                start = time.perf_counter()
                for lo in range(0, part, chunk):
                    m.add(lo * 10 // rows, x[lo:lo + chunk], y[lo:lo + chunk])
                timings[threads] = (time.perf_counter() - start) * rows / part
        d = DeviceMoments(10, p, p, device)
        if opts.gpu:
            torch.cuda.synchronize()
        start = time.perf_counter()
        for lo in range(0, rows, chunk):
            d.add(lo * 10 // rows, x[lo:lo + chunk], y[lo:lo + chunk])
        d.numpy()
        on_device = time.perf_counter() - start
        numpy_sums, torch_sums = BlockMoments.zeros(1, p, p), DeviceMoments(1, p, p, device)
        for lo in range(0, min(rows, 2 * chunk), chunk):  # the check: the first two chunks
            for m in (numpy_sums, torch_sums):
                m.add(0, x[lo:lo + chunk], y[lo:lo + chunk])
        reference = numpy_sums.sum_xy
        rel = np.abs(torch_sums.numpy().sum_xy - reference).max() / np.abs(reference).max()
        emit("g", f"cross sums {rows:,} x {p} (x {p}): numpy 1 thread / all cores / torch",
             f"{timings[1]:.3f} / {timings[None]:.3f} / {on_device:.3f} s",
             note=f"{flop / 1e9:,.3g} GFLOP; torch {timings[1] / on_device:.1f}x numpy's "
                  f"1 thread; max rel diff {rel:.1e}")
        if crossover is None and timings[1] > on_device + start_s:
            crossover = flop
    emit("g", "auto's threshold (moments.sums.AUTO_MIN_FLOP)", f"{AUTO_MIN_FLOP:.0e}",
         "FLOP", note="the smallest shape above where torch, start-up included, beat numpy's "
                      f"1 thread: {crossover:.0e} FLOP" if crossover else
                      "torch beat numpy at none of these shapes")
