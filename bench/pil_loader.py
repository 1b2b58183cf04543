#!/usr/bin/python3
"""The peer of bench/image_loader: torchvision's ImageFolder eval transform
(Pillow: open, convert RGB, Resize(256) bilinear with antialiasing,
CenterCrop(224), to a uint8 array) over a folder tree, on N worker processes
(a DataLoader with num_workers=N). Prints images per second.

    /usr/bin/python3 bench/pil_loader.py DIR [WORKERS] [SHORTER] [CROP]
"""
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
from PIL import Image


def load(path, shorter, crop):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if w <= h:
        nw, nh = shorter, int(shorter * h / w)
    else:
        nw, nh = int(shorter * w / h), shorter
    img = img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - crop) / 2.0)), int(round((nw - crop) / 2.0))
    return np.asarray(img.crop((left, top, left + crop, top + crop))).sum()


def work(args):
    return load(*args)


def main():
    root = sys.argv[1]
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    shorter = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    crop = int(sys.argv[4]) if len(sys.argv) > 4 else 224
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".jpg"))
    with Pool(workers) as pool:
        pool.map(work, [(files[0], shorter, crop)] * workers)  # warm the workers
        t0 = time.perf_counter()
        pool.map(work, [(f, shorter, crop) for f in files], chunksize=8)
        dt = time.perf_counter() - t0
    print(f"{len(files) / dt:.1f}")


if __name__ == "__main__":
    main()
