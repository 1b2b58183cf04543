#!/usr/bin/python3
"""Image fixtures for tests/test_data.c, made from data we have, with the
expected pixels computed by an independent decoder (Pillow) here, when the
fixtures are made.

    /usr/bin/python3 tests/images/make_fixtures.py OUT_DIR

Writes into OUT_DIR:
  fmnist/train/<k>_<name>/<index>.png   the first 2000 Fashion-MNIST training images
  fmnist/val/<k>_<name>/<index>.png     the first 500 test images
  fmnist-idx/                           the same images as IDX files, in the
                                        folders' order (class by class)
  digits/<k>/<i>.png and .jpg           sklearn's 8x8 digits, scaled to 0..255
  odd/...                               odd files and odd.txt: name, w, h, c,
                                        tolerance, and Pillow's pixels as .u8
  resize/...                            sources, Pillow's resized results, resize.txt
  cifar10/, cifar100/                   CIFAR-10 and CIFAR-100 binary layouts of known
                                        arrays; expect_{train,test}.u8 (HWC) and .labels
  t7.png                                Fashion-MNIST test image 7
  calib.txt, labelled.txt               list files
"""
import gzip
import os
import struct
import sys

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

FMNIST = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, arr):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes())


def fmnist(out):
    sets = {"train": ("train", 2000), "val": ("t10k", 500)}
    os.makedirs(f"{out}/fmnist-idx", exist_ok=True)
    for split, (prefix, count) in sets.items():
        x = idx(f"{FMNIST}/{prefix}-images-idx3-ubyte.gz")[:count]
        y = idx(f"{FMNIST}/{prefix}-labels-idx1-ubyte.gz")[:count]
        for k in range(10):
            os.makedirs(f"{out}/fmnist/{split}/{k}_{NAMES[k]}", exist_ok=True)
        for i in range(count):
            Image.fromarray(x[i]).save(f"{out}/fmnist/{split}/{y[i]}_{NAMES[y[i]]}/{i:05d}.png")
        order = np.argsort(y, kind="stable")  # class by class, index order within: the folders' order
        idx_prefix = "train" if split == "train" else "t10k"
        write_idx(f"{out}/fmnist-idx/{idx_prefix}-images-idx3-ubyte", x[order])
        write_idx(f"{out}/fmnist-idx/{idx_prefix}-labels-idx1-ubyte", y[order])
    t = idx(f"{FMNIST}/t10k-images-idx3-ubyte.gz")[7]
    Image.fromarray(t).save(f"{out}/t7.png")


def digits(out):
    d = load_digits()
    for i, (img, label) in enumerate(zip(d.images[:200], d.target[:200])):
        os.makedirs(f"{out}/digits/{label}", exist_ok=True)
        a = np.round(img * 255 / 16).astype(np.uint8)
        Image.fromarray(a).save(f"{out}/digits/{label}/{i:04d}.png")
        Image.fromarray(a).resize((32, 32), Image.BILINEAR).convert("RGB").save(
            f"{out}/digits/{label}/{i:04d}.jpg", quality=90)


def smooth(rng, h, w, c):
    """a photo-like image: smooth gradients and blobs, not noise"""
    yy, xx = np.mgrid[0:h, 0:w]
    planes = []
    for _ in range(c):
        a, b, p = rng.uniform(0.02, 0.2, 3)
        planes.append(127 + 60 * np.sin(a * xx + p) + 60 * np.cos(b * yy + 2 * p))
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def odd(out):
    rng = np.random.default_rng(17)
    d = f"{out}/odd"
    os.makedirs(d, exist_ok=True)
    lines = []

    def expect(name, pil_img, tol):
        a = np.asarray(pil_img)
        if a.ndim == 2:
            a = a[:, :, None]
        a.astype(np.uint8).tofile(f"{d}/{name}.u8")
        lines.append(f"{name} {a.shape[1]} {a.shape[0]} {a.shape[2]} {tol}")

    rgb = smooth(rng, 45, 61, 3)
    gray = smooth(rng, 37, 29, 1)[:, :, 0]
    Image.fromarray(rgb).save(f"{d}/rgb.png")
    expect("rgb.png", Image.open(f"{d}/rgb.png").convert("RGB"), 0)
    Image.fromarray(gray).save(f"{d}/gray.png")
    expect("gray.png", Image.open(f"{d}/gray.png").convert("L"), 0)
    rgba = np.concatenate([rgb, rng.integers(0, 256, (45, 61, 1), dtype=np.uint8)], -1)
    Image.fromarray(rgba, "RGBA").save(f"{d}/rgba.png")
    expect("rgba.png", Image.open(f"{d}/rgba.png").convert("RGB"), 0)
    Image.fromarray(np.stack([gray, gray // 2], -1), "LA").save(f"{d}/gray_alpha.png")
    expect("gray_alpha.png", Image.open(f"{d}/gray_alpha.png").convert("L"), 0)
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=50).save(f"{d}/palette.png")
    expect("palette.png", Image.open(f"{d}/palette.png").convert("RGB"), 0)
    g16 = (gray.astype(np.uint16) * 257 + rng.integers(0, 256, gray.shape)).astype(np.uint16)
    Image.fromarray(g16.astype(np.int32), "I").convert("I;16").save(f"{d}/gray16.png")
    back = np.asarray(Image.open(f"{d}/gray16.png")).astype(np.uint16)
    assert (back == g16).all(), "Pillow wrote the 16-bit PNG differently"
    expect("gray16.png", Image.fromarray((back >> 8).astype(np.uint8)), 0)  # the high byte
    # 16-bit RGB: written by hand (Pillow cannot write it); Pillow reads it back
    # through its RGB;16B rawmode, which keeps the high byte
    r16 = (rgb.astype(np.uint16) * 257).byteswap().tobytes()
    write_png16_rgb(f"{d}/rgb16.png", 61, 45, r16)
    expect("rgb16.png", Image.open(f"{d}/rgb16.png").convert("RGB"), 0)
    Image.fromarray(rgb).save(f"{d}/baseline.jpg", quality=92)
    expect("baseline.jpg", Image.open(f"{d}/baseline.jpg").convert("RGB"), 1)
    Image.fromarray(rgb).save(f"{d}/progressive.jpg", quality=85, progressive=True)
    expect("progressive.jpg", Image.open(f"{d}/progressive.jpg").convert("RGB"), 1)
    Image.fromarray(gray).save(f"{d}/gray.jpg", quality=90)
    expect("gray.jpg", Image.open(f"{d}/gray.jpg").convert("L"), 1)
    Image.fromarray(rgb).save(f"{d}/subsampled.jpg", quality=80, subsampling=2)
    expect("subsampled.jpg", Image.open(f"{d}/subsampled.jpg").convert("RGB"), 1)
    Image.fromarray(rgb).convert("CMYK").save(f"{d}/cmyk.jpg", quality=95)
    expect("cmyk.jpg", Image.open(f"{d}/cmyk.jpg").convert("RGB"), 1)
    header = "P6\n# a comment\n61 45\n255\n".encode()
    with open(f"{d}/rgb.ppm", "wb") as f:
        f.write(header + rgb.tobytes())
    expect("rgb.ppm", Image.open(f"{d}/rgb.ppm").convert("RGB"), 0)
    Image.fromarray(gray).save(f"{d}/gray.pgm")
    expect("gray.pgm", Image.open(f"{d}/gray.pgm").convert("L"), 0)
    # bad files: must be rejected with their name
    data = open(f"{d}/baseline.jpg", "rb").read()
    open(f"{d}/cut.jpg", "wb").write(data[: len(data) // 2])
    data = open(f"{d}/rgb.png", "rb").read()
    open(f"{d}/cut.png", "wb").write(data[: len(data) // 2])
    open(f"{d}/text.jpg", "w").write("this is not an image\n")
    open(f"{d}/empty.png", "wb").close()
    with open(f"{out}/odd.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


def write_png16_rgb(path, w, h, raw_be):
    import zlib

    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + raw_be[y * w * 6:(y + 1) * w * 6] for y in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def resize(out):
    """Pillow's resizes of a few images: bilinear (antialiased) and nearest,
    up and down, whole images and torchvision's resize + centre crop."""
    rng = np.random.default_rng(5)
    d = f"{out}/resize"
    os.makedirs(d, exist_ok=True)
    lines = []
    for k, (h, w, c) in enumerate([(375, 500, 3), (40, 30, 1), (64, 64, 3), (17, 203, 3)]):
        a = smooth(rng, h, w, c) if k != 2 else rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        img = Image.fromarray(a[:, :, 0] if c == 1 else a)
        src = f"src{k}.png"
        img.save(f"{d}/{src}")
        for ow, oh in [(224, 224), (31, 47), (300, 90), (w, h)]:
            for name, method in [("bilinear", Image.BILINEAR), ("nearest", Image.NEAREST)]:
                r = np.asarray(img.resize((ow, oh), method))
                r.tofile(f"{d}/{src}.{name}.{ow}x{oh}.u8")
                lines.append(f"{src} {name} {ow} {oh} {src}.{name}.{ow}x{oh}.u8")
    with open(f"{out}/resize.txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    # fractional boxes (what random-resized crops resize): Pillow's box is float32
    lines = []
    for k in range(40):
        src = f"src{k % 4}.png"
        img = Image.open(f"{d}/{src}")
        w, h = img.size
        x0, y0 = rng.uniform(0, w / 2), rng.uniform(0, h / 2)
        x1, y1 = rng.uniform(x0 + 0.5, w), rng.uniform(y0 + 0.5, h)
        ow, oh = int(rng.integers(1, 120)), int(rng.integers(1, 120))
        method = "nearest" if k % 4 == 3 else "bilinear"
        r = np.asarray(img.resize((ow, oh), Image.NEAREST if method == "nearest" else Image.BILINEAR,
                                  box=(x0, y0, x1, y1)))
        name = f"{src}.box{k}.u8"
        r.tofile(f"{d}/{name}")
        lines.append(f"{src} {method} {ow} {oh} {x0!r} {y0!r} {x1!r} {y1!r} {name}")
    with open(f"{out}/boxes.txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    # torchvision's eval transform: Resize(shorter) + CenterCrop, computed
    # with Pillow as torchvision 0.14 does it
    lines = []
    for k in range(4):
        img = Image.open(f"{d}/src{k}.png")
        for shorter, crop in [(256, 224), (36, 32), (73, 64)]:
            w, h = img.size
            if w <= h:
                nw, nh = shorter, int(shorter * h / w)
            else:
                nw, nh = int(shorter * w / h), shorter
            r = img.resize((nw, nh), Image.BILINEAR)
            if nw < crop or nh < crop:
                continue
            top, left = int(round((nh - crop) / 2.0)), int(round((nw - crop) / 2.0))
            r = r.crop((left, top, left + crop, top + crop))
            np.asarray(r).tofile(f"{d}/src{k}.png.eval.{shorter}.{crop}.u8")
            lines.append(f"src{k}.png {shorter} {crop} src{k}.png.eval.{shorter}.{crop}.u8")
    with open(f"{out}/eval.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


def cifar(out):
    rng = np.random.default_rng(10)
    d = f"{out}/cifar10"
    os.makedirs(d, exist_ok=True)
    for split, files in [("train", [f"data_batch_{i}.bin" for i in range(1, 6)]), ("test", ["test_batch.bin"])]:
        imgs, labels = [], []
        for name in files:
            n = 7
            x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
            y = rng.integers(0, 10, n, dtype=np.uint8)
            with open(f"{d}/{name}", "wb") as f:
                for i in range(n):
                    f.write(bytes([y[i]]) + x[i].tobytes())
            imgs.append(x)
            labels.append(y)
        x = np.concatenate(imgs).transpose(0, 2, 3, 1)  # HWC
        x.tofile(f"{d}/expect_{split}.u8")
        np.concatenate(labels).astype(np.uint8).tofile(f"{d}/expect_{split}.labels")
    with open(f"{d}/batches.meta.txt", "w") as f:
        f.write("\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
                + "\n\n")


def cifar100(out):
    """CIFAR-100's layout: train.bin / test.bin, records of a coarse and a
    fine label byte then the planes; the fine label is the class"""
    rng = np.random.default_rng(11)
    d = f"{out}/cifar100"
    os.makedirs(d, exist_ok=True)
    for split, n in [("train", 9), ("test", 4)]:
        x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        fine = rng.integers(0, 100, n, dtype=np.uint8)
        coarse = (fine // 5).astype(np.uint8)
        with open(f"{d}/{split}.bin", "wb") as f:
            for i in range(n):
                f.write(bytes([coarse[i], fine[i]]) + x[i].tobytes())
        x.transpose(0, 2, 3, 1).tofile(f"{d}/expect_{split}.u8")
        fine.tofile(f"{d}/expect_{split}.labels")
    with open(f"{d}/fine_label_names.txt", "w") as f:
        f.write("\n".join(f"class{k:02d}" for k in range(100)) + "\n")


def lists(out):
    with open(f"{out}/calib.txt", "w") as f:
        f.write("# calibration images, as rknn's dataset.txt\n")
        for k in range(10):
            f.write(f"fmnist/val/{k}_{NAMES[k]}/" + sorted(os.listdir(f"{out}/fmnist/val/{k}_{NAMES[k]}"))[0] + "\n")
    with open(f"{out}/labelled.txt", "w") as f:
        for k in range(10):
            f.write(f"digits/{k}/" + sorted(p for p in os.listdir(f"{out}/digits/{k}") if p.endswith(".png"))[0]
                    + f" {k}\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    fmnist(out)
    digits(out)
    odd(out)
    resize(out)
    cifar(out)
    cifar100(out)
    lists(out)


if __name__ == "__main__":
    main()
