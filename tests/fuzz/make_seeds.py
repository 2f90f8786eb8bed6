#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the shipped data (deterministic).

    python3 tests/fuzz/make_seeds.py   # rewrites corpus_api/seed-*, corpus_loss/seed-*,
                                       # corpus_parity/seed-*, corpus_readers/ and the
                                       # hand-made reproducers of regressions/api/

corpus_readers/: slices of data/coco2017_subset_boxes.csv (crowd rows included, one
with CRLF line ends and a UTF-8 byte-order mark), the same images as COCO JSON, and
the CLI tests' fixtures (tests/cli/).

corpus_loss/seed-*: inputs in fuzz_loss.c's format: EM segments (bimodal, unimodal,
equal, outliers) under each covariance, init and float32 setting, and PAA on the GT
boxes of shipped COCO images with float32, float16 and bfloat16 heads, both presets.

corpus_api/seed-*: inputs in fuzz_api.c's format that describe real batches: the
GT boxes of shipped COCO images (scaled to the canvas) against generated RetinaNet
anchors, ATSS anchors or FCOS points, with every output requested; and one input per
corruption case of build_batch(). The byte layout follows LLVMFuzzerTestOneInput()
in fuzz_api.c: keep the two in step (a seed that no longer decodes as meant is
still a valid input, only a less useful one). Files in corpus_api/ not named seed-*
(inputs found by fuzzing, if any are added) are left alone.

corpus_parity/seed-*: inputs in fuzz_parity.c's format: the GT boxes of shipped COCO
images (scaled to the canvas, crowd flags and labels) against generated RetinaNet
anchors, ATSS anchors and FCOS points (offset 0.5 and 0), ignore regions, centre
sampling, every overlap mode and a few topk; harness-built anchor sets (random and on
the integer grid, for ties), and random bytes. The seed-loss-* ones add the bytes of
the loss-aware calls (head outputs of each dtype and several classes, PAA presets,
LADA thresholds and clipping), and seed-lada-overflow-one-gt a LADA loss beyond
float32 for one of two GTs (the CPU refuses, OpenCL gives that GT no positive). The
seed-paa-*, seed-gmm-* and seed-all-three-* ones add the last section (parity_tail):
aa_assign_paa_costs on the CPU's costs, few values (ties), all equal or a NaN;
aa_assign_paa, also with a cost beyond float32 (seed-paa-overflow-one-gt); aa_gmm_fit
on segments of 0 to 40 points with K 1..4, max_iter 0, tol 0, reg_covar 0, 'full',
given initial values and float32 input.

regressions/api/, regressions/parity/overlaps-signed-zero: hand-made reproducers of
what the first fuzzing runs found (docs/robustness.md, "Found by fuzzing").
"""
import csv
import json
import os
import random
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "data", "coco2017_subset_boxes.csv")
CLI = os.path.join(ROOT, "tests", "cli")


def read_rows():
    with open(DATA, newline="") as f:
        return list(csv.DictReader(f))


def images_of(rows):
    order, by_image = [], {}
    for r in rows:
        if r["image_id"] not in by_image:
            order.append(r["image_id"])
            by_image[r["image_id"]] = []
        by_image[r["image_id"]].append(r)
    return order, by_image


# ---------------------------------------------------------------- readers


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def seed_writer(corpus):
    """put(name, data): writes corpus_<corpus>/seed-<name>, after removing the folder's
    old seed- files (what the fuzzer added stays)."""
    out = os.path.join(HERE, "corpus_" + corpus)
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.startswith("seed-"):
            os.remove(os.path.join(out, name))

    def put(name, data):
        write(os.path.join(out, "seed-" + name), data)
    return put


def crowd_images(order, by_image):
    """The images with a crowd box, in order."""
    return [im for im in order if any(r["iscrowd"] == "1" for r in by_image[im])]


def readers_corpus(rows, header):
    out = os.path.join(HERE, "corpus_readers")
    if os.path.isdir(out):
        shutil.rmtree(out)
    order, by_image = images_of(rows)

    def csv_text(images, eol="\n"):
        lines = [",".join(header)]
        for im in images:
            for r in by_image[im]:
                lines.append(",".join(r[h] for h in header))
        return (eol.join(lines) + eol).encode()

    def coco_text(images):
        doc = {"images": [], "annotations": [], "categories": []}
        cats = set()
        for im in images:
            r0 = by_image[im][0]
            doc["images"].append({"id": int(im), "width": int(r0["width"]),
                                  "height": int(r0["height"]), "file_name": im + ".jpg"})
            for r in by_image[im]:
                box = [float(r[k]) for k in ("x", "y", "w", "h")]
                doc["annotations"].append({
                    "id": int(r["annotation_id"]), "image_id": int(im), "bbox": box,
                    "area": box[2] * box[3], "category_id": int(r["category_id"]),
                    "iscrowd": int(r["iscrowd"])})
                cats.add(int(r["category_id"]))
        doc["categories"] = [{"id": c, "name": "c%d" % c} for c in sorted(cats)]
        return json.dumps(doc, indent=1).encode()

    crowd = crowd_images(order, by_image)
    write(os.path.join(out, "shipped_first_4_images.csv"), csv_text(order[:4]))
    write(os.path.join(out, "shipped_images_100_to_103.csv"), csv_text(order[100:104]))
    write(os.path.join(out, "shipped_last_3_images.csv"), csv_text(order[-3:]))
    write(os.path.join(out, "shipped_crowd_images.csv"), csv_text(crowd[:3]))
    write(os.path.join(out, "shipped_crlf_bom.csv"), b"\xef\xbb\xbf" + csv_text(order[4:6], "\r\n"))
    biggest = max(order, key=lambda im: len(by_image[im]))
    write(os.path.join(out, "shipped_most_boxes.csv"), csv_text([biggest]))
    write(os.path.join(out, "shipped_first_4_images.json"), coco_text(order[:4]))
    write(os.path.join(out, "shipped_crowd_images.json"), coco_text(crowd[:3]))
    write(os.path.join(out, "shipped_images_200_to_202.json"), coco_text(order[200:203]))
    # accepted by the loader, but beyond AA_MAX_COORD once a 1x1 image is resized
    # (the assigners say AA_ERR_INVALID_BOX)
    big = ",".join(header) + "\nval2017,1,1,1,7,240000000000000,0,10,10,1,0\n"
    write(os.path.join(out, "resized_beyond_max_coord.csv"), big.encode())
    for name in sorted(os.listdir(CLI)):
        if name.endswith((".csv", ".json")):
            shutil.copy(os.path.join(CLI, name), os.path.join(out, "cli_" + name))


# ---------------------------------------------------------------- api


class Enc:
    """Bytes in the order fuzz_api.c reads them."""

    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b.append(v & 0xFF)

    def u16(self, v):
        self.b += struct.pack("<H", v & 0xFFFF)

    def u32(self, v):
        self.b += struct.pack("<I", v & 0xFFFFFFFF)

    def fval(self, v, lo, hi):  # selector < 150: lo + (hi - lo) * u16 / 65535
        v = min(max(v, lo), hi)
        self.u8(0)
        self.u16(round((v - lo) / (hi - lo) * 65535))

    def side(self, n):  # selector < 220: 1 + u16 % 700
        self.u8(0)
        self.u16(n - 1)


def generator(e, kind, canvas, anchor_patches=b"", raw_sides=None):
    """The generator section: kind 0 RetinaNet anchors, 2 ATSS anchors, 1 FCOS points
    (5 levels). anchor_patches: (count byte + patches) of the anchor parameters."""
    e.u8(kind)
    if raw_sides:
        e.b += raw_sides
    else:
        e.side(canvas[0]), e.side(canvas[1])
    if kind % 2 == 0:
        e.b += anchor_patches or b"\0"  # no anchor parameter patches
    else:
        e.u8(4)                    # ival: 1 + 4 % 6 = 5 levels
        e.u8(0)                    # no stride patches
    e.u8(0)                        # generator nulls: exact capacity


def api_seed(images, by_image, kind, canvas, topk_sel=8, mode_sel=0, nulls=0x40,
             anchor_c=0, gt_c=0, extra_anchor=(), extra_gt=(), params=(), misalign=0,
             gen=None, per_image=8):
    """A batch of real GTs against a generated anchor set (see generator()); gen: the
    generator section's bytes instead, with a harness-built anchor set (1 level, 50
    random anchors) for the batch."""
    e = Enc()
    e.u8(0), e.u8(0)               # status string, backend name
    e.u8(0)                        # context accessors
    e.u8(0)                        # context options: defaults
    h, w = canvas
    if gen is None:
        generator(e, kind, canvas)
        e.u8(1)                    # use the generated set
        e.u8(0)                    # levels selector (unused with a generated set)
    else:
        e.b += gen
        e.u8(0)                    # the harness's anchor set
        e.u8(0)                    # 1 level
        e.u8(50)                   # of 50 anchors
        e.u8(0), e.u32(7), e.u8(0)  # random boxes, seed 7, no patches
    e.u8(0)                        # stride patch: none
    e.u8(anchor_c)                 # anchor corruption
    for v in extra_anchor:
        e.u8(v)
    e.u8(len(images))              # images
    boxes = []
    for im in images:
        rs = by_image[im][:per_image]
        e.u8(len(rs))
        sx = w / float(rs[0]["width"]) if rs else 1.0
        sy = h / float(rs[0]["height"]) if rs else 1.0
        s = min(sx, sy)
        for r in rs:
            boxes.append([float(r["x"]) * s, float(r["y"]) * s, float(r["w"]) * s, float(r["h"]) * s])
    e.u8(3)                        # explicit boxes
    e.u32(0x1234567 + len(boxes))  # seed of crowd flags and labels
    for x, y, bw, bh in boxes[:64]:
        e.fval(x, -50, 1400), e.fval(y, -50, 1400), e.fval(bw, 0, 600), e.fval(bh, 0, 600)
    e.u8(0)                        # no box patches
    e.u8(3)                        # crowd flags and labels
    e.u8(gt_c)                     # GT corruption
    for v in extra_gt:
        e.u8(v)
    e.u8(len(params))              # parameter patches
    for f, l, value in params:
        e.u8(f), e.u8(l)
        e.b += value
    e.u8(0)                        # pnull
    e.u8(mode_sel)                 # overlap mode (IoU, IoF, GIoU)
    e.u8(topk_sel)                 # topk = 1 + sel % 12
    e.u8(nulls)                    # 0x40: labels output
    e.u8(0)                        # candidate corruption: none
    if misalign:
        e.u8(224), e.u8(misalign)  # caller workspaces at an odd address (bit per assigner)
    else:
        e.u8(0)
    e.u8(0), e.u8(0), e.u8(0)      # workspace_bytes without a workspace
    return bytes(e.b)


def api_corpus(rows):
    put = seed_writer("api")
    order, by_image = images_of(rows)
    crowd = crowd_images(order, by_image)

    # 400-600 anchors or points per set, 5 levels, <= 8 GTs per image: an input runs in
    # well under 0.1 s under the fuzzer's instrumentation
    retina, atss, fcos = (0, (48, 64)), (2, (128, 160)), (1, (128, 160))
    for k, (kind, canvas) in enumerate((retina, atss, fcos)):
        label = ("retina", "atss", "fcos")[k]
        put("%s-coco-4-images" % label, api_seed(order[4 * k:4 * k + 4], by_image, kind, canvas))
        put("%s-coco-crowd" % label, api_seed(crowd[:3], by_image, kind, canvas, mode_sel=k))
        put("%s-coco-8-images" % label, api_seed(order[40:48], by_image, kind, canvas, topk_sel=k + 2))
    # ignore regions on (max-IoU and ATSS ignore_iof_thr 0.5), FCOS centre sampling
    half = bytes([0]) + struct.pack("<H", round(1.5 / 2 * 65535))  # fval(-1, 1) = 0.5
    put("atss-coco-crowd-ignore", api_seed(crowd[3:6], by_image, 2, (160, 256),
                                           params=[(6, 0, half), (11, 0, half)]))
    put("fcos-coco-center-sampling", api_seed(order[60:63], by_image, 1, (256, 320),
                                              params=[(15, 0, bytes([1]))]))
    # every corruption of build_batch(), on a small real batch
    for c in range(1, 15):
        put("corrupt-anchors-%02d" % c, api_seed(order[8:10], by_image, 2, (64, 64),
                                                 anchor_c=235 + c, extra_anchor=(1, 3)))
    for c in range(1, 12):
        put("corrupt-gts-%02d" % c, api_seed(order[8:10], by_image, 2, (64, 64), gt_c=235 + c,
                                             extra_gt=(1, 3)))
    # random inputs of a few sizes
    rnd = random.Random(20240801)
    for n in (16, 64, 256, 1024):
        put("random-%d" % n, bytes(rnd.randrange(256) for _ in range(n)))


def gmm_segments(e, sizes, mode, first_seed):
    """The segments both harnesses decode alike: the sizes (each < 41), then each
    segment's point mode and seed, no point patches, no segment corruption."""
    e.u8(len(sizes))
    for n in sizes:
        e.u8(n if n < 4 else 164 + n)  # c < 128: n = c % 4; else n = c % 41
    for k, n in enumerate(sizes):
        e.u8(mode), e.u32(first_seed + k)
    e.u8(0)                        # no point patches
    e.u8(0)                        # no segment corruption


def gmm_section(e, sizes, mode=0, patches=()):
    """fuzz_loss.c's fuzz_gmm(): segments of the given sizes (each < 41), point mode
    (0 bimodal, 1 unimodal, 2 equal, 3 outlier), parameter patches (field, value byte)."""
    gmm_segments(e, sizes, mode, 1000)
    e.u8(len(patches))
    for f, v in patches:
        e.u8(f), e.u8(v)
    e.u8(0)                        # params given
    e.u8(0)                        # given init values: no corruption
    e.u8(0)                        # every output


def paa_section(e, images, by_image, dtype=0, classes=7, original=False, canvas=(800, 1333)):
    """fuzz_loss.c's fuzz_paa(): 5 levels of random anchors (~700) against the real GTs
    of `images` scaled to the canvas, head outputs of the dtype (0 f32, 1 f16, 2 bf16)."""
    e.u8(4)                        # 1 + 4 % 5 = 5 levels
    for n in (199, 199, 150, 100, 50):
        e.u8(n)
    e.u8(0), e.u32(99), e.u8(0)    # random anchor boxes, seed, no patches
    e.u8(0), e.u8(0)               # no stride patch, no anchor corruption
    e.u8(len(images))
    h, w = canvas
    boxes = []
    for im in images:
        rs = by_image[im][:16]
        e.u8(len(rs))
        s = min(w / float(rs[0]["width"]), h / float(rs[0]["height"])) if rs else 1.0
        boxes += [[float(r[k]) * s for k in ("x", "y", "w", "h")] for r in rs]
    e.u8(3), e.u32(0x7654321 + len(boxes))
    for x, y, bw, bh in boxes[:64]:
        e.fval(x, -50, 1400), e.fval(y, -50, 1400), e.fval(bw, 0, 600), e.fval(bh, 0, 600)
    e.u8(0)                        # no box patches
    e.u8(3)                        # crowd flags and labels
    e.u8(0)                        # no GT corruption
    e.u8(dtype)                    # dtype, no head corruption
    e.u8(classes - 1)              # num_classes
    e.u32(11), e.u8(0)             # logits: seed, no patches
    e.u32(12), e.u8(0)             # deltas
    if boxes:
        e.u8(0)                    # labels kept below num_classes
    e.u8(0 if original else 1)     # preset
    e.u8(0)                        # no parameter patches
    e.u8(0)                        # params given
    e.u8(0)                        # pre-assignment: no corruption
    e.u8(0x08)                     # outputs: gt_index, overlap, labels
    e.u8(0)                        # costs: no corruption


def lada_section(e, variant=0):
    """fuzz_loss.c's fuzz_lada(): defaults, mean+std (variant 1), unclipped regions (2),
    a per-level top-k of 3 (3), radius 2.5 (fval(0, 4)) (4); every output."""
    patches = {0: [], 1: [(4, 0, bytes([1]))], 2: [(1, 0, bytes([0]))], 3: [(2, 0, bytes([2]))],
               4: [(0, 0, bytes([0]) + struct.pack("<H", round(2.5 / 4 * 65535)))]}.get(variant, [])
    e.u8(len(patches))
    for f, c, value in patches:
        e.u8(f), e.u8(c)
        e.b += value
    e.u8(0)                        # params given
    e.u8(0x04)                     # outputs: gt_index, overlap, labels


def loss_corpus(rows):
    put = seed_writer("loss")
    order, by_image = images_of(rows)

    sizes = [9, 18, 27, 36, 40, 1, 0, 2, 3, 12]
    # (field, byte): 0 K (byte 2: 3 components), 1 max_iter, 4 covariance, 5 init, 6 float32
    variants = {"diag": (), "full": ((4, 1),), "float32": ((6, 1),), "full-float32": ((4, 1), (6, 1)),
                "k3": ((0, 2),), "given": ((5, 1),), "max-iter-0": ((1, 0),)}
    for k, (name, patches) in enumerate(variants.items()):
        e = Enc()
        e.u8(1)                    # the EM only
        gmm_section(e, sizes, mode=k % 4, patches=patches)
        put("gmm-" + name, bytes(e.b))
    crowd = crowd_images(order, by_image)
    for dtype, label in enumerate(("float32", "float16", "bfloat16")):
        for original in (False, True):
            e = Enc()
            e.u8(6)                # PAA, then LADA on its batch and head
            paa_section(e, order[4 * dtype:4 * dtype + 4], by_image, dtype=dtype, original=original)
            lada_section(e, variant=dtype + 3 * original)
            put("paa-lada-coco-%s-%s" % (label, "original" if original else "mmdet"), bytes(e.b))
    e = Enc()
    e.u8(7)                        # all three
    gmm_section(e, sizes[:4])
    paa_section(e, crowd[:3], by_image)
    lada_section(e)
    put("gmm-paa-lada-coco-crowd", bytes(e.b))
    rnd = random.Random(20261125)
    for n in (16, 64, 256):
        put("random-%d" % n, bytes(rnd.randrange(256) for _ in range(n)))


def parity_loss_section(e, dtype=0, classes=8, original=False, lada=(), logit_patches=()):
    """fuzz_parity.c's loss-aware section (harness.c's decode_head, decode_paa_params,
    corrupt_pre, decode_lada_params): head outputs of the dtype (0 f32, 1 f16, 2 bf16)
    and classes, logit patches (index, special value), the PAA preset, no pre-assignment
    corruption, LADA parameter patches (field, channel, value bytes)."""
    e.u8(dtype)                    # dtype, no head corruption
    e.u8(classes - 1)              # num_classes
    e.u32(21), e.u8(len(logit_patches))  # logits: seed, patches
    for i, special in logit_patches:
        e.u16(i), e.u8(special)
    e.u32(22), e.u8(0)             # deltas: seed, no patches
    e.u8(0)                        # labels kept below num_classes (read where there are GTs)
    e.u8(0 if original else 1)     # PAA preset
    e.u8(0), e.u8(0)               # no PAA parameter patches, params given
    e.u8(0)                        # pre-assignment: no corruption
    e.u8(len(lada))                # LADA parameter patches
    for f, c, value in lada:
        e.u8(f), e.u8(c)
        e.b += value
    e.u8(0)                        # LADA params given


def parity_seed(images, by_image, kind, canvas, levels=5, offset_bit=0, mode_sel=0, eps_default=True,
                topk_sel=8, params=(), req=1, per_image=8, harness_anchors=None, loss=None):
    """fuzz_parity.c's layout: kind 1 RetinaNet anchors, 2 ATSS anchors, 3 FCOS points on
    `canvas` (h, w: 8 + 4 * byte, chosen to hold <= 2000 anchors, so not halved), or kind 0
    with harness_anchors = (level counts, fill mode, seed); then the batch (real GTs scaled
    to the canvas), parameter patches (fuzz_api.c's fields), overlap mode, topk and the
    outputs requested (req bit 0: labels)."""
    e = Enc()
    e.u8(kind)
    if kind:
        e.u8(levels - 1)           # 1 + byte % 5 levels
        h, w = canvas
        e.u8((h - 8) // 4), e.u8((w - 8) // 4)
        e.u8(offset_bit)           # points: offset 0.5 (0) or 0 (1)
        e.u8(0)                    # levels selector (unused with a generated set)
    else:
        counts, mode, seed = harness_anchors
        e.u8(len(counts) - 1)      # 1 + sel % 5 levels
        for c in counts:
            e.u8(c)                # < 200: that many anchors
        e.u8(mode), e.u32(seed), e.u8(0)  # fill mode, seed, no patches
        h, w = canvas
    e.u8(0)                        # stride patch: none
    e.u8(0)                        # no anchor corruption
    e.u8(len(images))              # images
    boxes = []
    for im in images:
        rs = by_image[im][:per_image]
        e.u8(len(rs))
        s = min(w / float(rs[0]["width"]), h / float(rs[0]["height"])) if rs else 1.0
        boxes += [[float(r[k]) * s for k in ("x", "y", "w", "h")] for r in rs]
    e.u8(3)                        # explicit boxes
    e.u32(0x2468ace + len(boxes))  # seed of crowd flags and labels
    for x, y, bw, bh in boxes[:64]:
        e.fval(x, -50, 1400), e.fval(y, -50, 1400), e.fval(bw, 0, 600), e.fval(bh, 0, 600)
    e.u8(0)                        # no box patches
    e.u8(3)                        # crowd flags and labels
    e.u8(0)                        # no GT corruption
    e.u8(len(params))              # parameter patches
    for f, l, value in params:
        e.u8(f), e.u8(l)
        e.b += value
    e.u8(0)                        # pnull: every parameter struct given
    e.u8(mode_sel if eps_default else mode_sel | 0x30)
    if not eps_default:
        e.fval(1e-4, 0, 1e-3)
    e.u8(topk_sel)                 # topk = 1 + sel % 12
    e.u8(req)
    e.u8(0)                        # candidate corruption: none
    if loss is not None:
        parity_loss_section(e, **loss)
    return bytes(e.b)


def parity_tail(e, skip=0, variant=0, bad=(), gmm=None):
    """fuzz_parity.c's last section, after the LADA parameters: a byte whose bits 0, 1, 2
    leave out aa_assign_paa_costs, aa_assign_paa and aa_gmm_fit; for the selection the
    costs' variant (0 the CPU's, 1 all equal, 2 few values, 3 random), their seed and one
    corruption (`bad`: bytes, () for none); for the EM, gmm = (sizes, mode, patches,
    corruption bytes): segments as fuzz_loss's (mode 0 bimodal, 1 unimodal, 2 equal, 3
    an outlier, 4 sorted PAA-like costs, 5 few values) and parameter patches (field,
    value bytes), every output requested."""
    e.u8(skip)
    if not skip & 1:
        e.u8(variant), e.u32(77)
        e.b += bytes(bad) if bad else bytes([0])
    if not skip & 4:
        sizes, mode, patches, corruption = gmm
        gmm_segments(e, sizes, mode, 2000)
        e.u8(len(patches))
        for fld, value in patches:
            e.u8(fld)
            e.b += bytes(value)
        e.u8(0)                    # params given
        e.b += bytes(corruption) if corruption else bytes([0])  # given initial values
        e.u8(0)                    # every output


def two_gt_batch():
    """The batch of the overflow seeds: six 8 x 8 anchors (stride 8) in two rows of
    three, two 40 x 40 GTs with labels, every struct given, IoU, topk 9, labels and
    overlap asked for; the loss section follows."""
    e = Enc()
    e.u8(0)                        # the harness builds the anchors
    e.u8(0), e.u8(6)               # 1 level of 6 anchors
    e.u8(3), e.u32(1)              # explicit boxes, seed
    for cx in (14, 20, 26, 114, 120, 126):
        e.fval(cx - 4, -50, 1400), e.fval(16, -50, 1400), e.fval(8, 0, 600), e.fval(8, 0, 600)
    e.u8(0)                        # no box patches
    e.u8(0), e.u8(0)               # strides given (8), no anchor corruption
    e.u8(1), e.u8(2)               # 1 image of 2 GTs
    e.u8(3), e.u32(5)              # explicit boxes, seed of the labels
    for x in (0, 100):
        e.fval(x, -50, 1400), e.fval(0, -50, 1400), e.fval(40, 0, 600), e.fval(40, 0, 600)
    e.u8(0)                        # no box patches
    e.u8(2), e.u8(0)               # labels, no crowd flags; no GT corruption
    e.u8(0), e.u8(0)               # no parameter patches, every struct given
    e.u8(0), e.u8(8), e.u8(1), e.u8(0)  # IoU, topk 9, labels and overlap, no corruption
    return e


def paa_overflow_seed(overflow=True, **tail):
    """lada_overflow_seed()'s batch (two 40 x 40 GTs, three 8 x 8 anchors in each, all
    pre-assigned by max-IoU's low-quality matches) with 3 classes and all three logits of
    anchor 0 FLT_MAX: its PAA cost (two negative classes of 0.75 x FLT_MAX) overflows
    float32, so the CPU refuses aa_assign_paa (and the selection of those costs) and
    OpenCL gives GT 0 no positive, GT 1 as usual."""
    e = two_gt_batch()
    parity_loss_section(e, classes=3, logit_patches=((0, 9), (1, 9), (2, 9)) if overflow else ())  # 9: FLT_MAX
    parity_tail(e, **(tail or dict(skip=4)))
    return bytes(e.b)


def lada_overflow_seed():
    """Six 8 x 8 anchors (stride 8) in two rows of three, each inside the LADA region of
    one of two 40 x 40 GTs (radius 1.5, clipped); 2 classes, both logits of anchor 0
    FLT_MAX and cls_weight 3: its loss (3 x 0.75 x FLT_MAX) overflows float32, so the
    CPU refuses the call and OpenCL gives GT 0 no positive, GT 1 as usual."""
    e = two_gt_batch()
    cls_weight_3 = bytes([0]) + struct.pack("<H", 65535)  # fval(-1, 3) = 3
    parity_loss_section(e, classes=2, logit_patches=((0, 9), (1, 9)),  # special 9: FLT_MAX
                        lada=((5, 0, cls_weight_3),))
    return bytes(e.b)


def parity_corpus(rows):
    put = seed_writer("parity")
    order, by_image = images_of(rows)
    crowd = crowd_images(order, by_image)

    # RetinaNet 5 levels on 64 x 96: 1161 anchors; ATSS anchors and points on 160 x 256: 856
    retina, small = (64, 96), (160, 256)
    half = bytes([0]) + struct.pack("<H", round(1.5 / 2 * 65535))  # fval(-1, 1) = 0.5
    put("retina-coco-4-images", parity_seed(order[0:4], by_image, 1, retina, mode_sel=0))
    put("atss-coco-4-images", parity_seed(order[4:8], by_image, 2, small, mode_sel=2, topk_sel=8))
    put("fcos-coco-4-images", parity_seed(order[8:12], by_image, 3, small, mode_sel=1))
    put("fcos-coco-center-sampling", parity_seed(order[60:63], by_image, 3, small,
                                                 params=[(15, 0, bytes([1]))]))
    put("points-offset-0-ties", parity_seed(order[12:14], by_image, 3, (96, 128), offset_bit=1,
                                            levels=3, topk_sel=11))
    put("retina-coco-crowd-ignore", parity_seed(crowd[:3], by_image, 1, retina,
                                                params=[(6, 0, half)], eps_default=False))
    put("atss-coco-crowd-ignore", parity_seed(crowd[3:6], by_image, 2, small,
                                              params=[(11, 0, half)], topk_sel=0))
    put("atss-coco-8-images-topk-12", parity_seed(order[40:48], by_image, 2, small, topk_sel=11,
                                                  per_image=7, req=0))
    put("harness-random-5-levels", parity_seed(order[20:22], by_image, 0, (1400, 1400),
                                               harness_anchors=((199, 150, 100, 60, 30), 0, 5)))
    put("harness-grid-ties", parity_seed(order[22:24], by_image, 0, (800, 1360),
                                         harness_anchors=((199, 199, 100), 2, 9), mode_sel=2))
    # the loss-aware calls: PAA's costs and LADA (mean + std: threshold patch 1; clip off:
    # field 1 = 0; per-level top-k 3: field 2, ival 2)
    put("loss-retina-coco-float32", parity_seed(order[0:4], by_image, 1, retina,
                                                loss=dict(dtype=0, classes=8, lada=[(4, 0, bytes([1]))])))
    put("loss-atss-coco-crowd-bfloat16", parity_seed(crowd[:3], by_image, 2, small, loss=dict(
        dtype=2, classes=5, original=True, lada=[(1, 0, bytes([0])), (2, 0, bytes([2]))])))
    put("loss-fcos-coco-float16", parity_seed(order[8:12], by_image, 3, small,
                                              loss=dict(dtype=1, classes=3)))
    put("lada-overflow-one-gt", lada_overflow_seed())
    # PAA's selection and the whole of PAA (the tail: skip bit 2, no EM), then the EM
    # alone (skip bits 0 and 1) on segments of every size class; EM parameter fields:
    # 0 K (1 + byte % 5), 1 max_iter, 2 tol, 3 reg_covar (dval: 0 0 0 is 0), 4
    # covariance, 5 init (1 given), 6 float32_input
    def tail(**kw):
        e = Enc()
        parity_tail(e, **kw)
        return bytes(e.b)
    mixed = (0, 1, 2, 3, 5, 17, 40, 9, 2, 12)
    put("paa-select-whole-retina-float32", parity_seed(order[0:4], by_image, 1, retina,
        loss=dict(dtype=0, classes=8)) + tail(skip=4))
    put("paa-select-ties-atss-crowd-bfloat16-original", parity_seed(crowd[:3], by_image, 2, small,
        loss=dict(dtype=2, classes=5, original=True)) + tail(skip=4, variant=2))
    put("paa-select-equal-costs-fcos-float16", parity_seed(order[8:12], by_image, 3, small,
        loss=dict(dtype=1, classes=3)) + tail(skip=6, variant=1))
    # anchor 0 is pre-assigned there: the CPU and OpenCL refuse its NaN cost alike
    put("paa-select-nan-cost", paa_overflow_seed(False, skip=6, bad=(224, 0, 0, 2)))  # special 2: NaN
    put("paa-overflow-one-gt", paa_overflow_seed())
    small_batch = parity_seed(order[10:12], by_image, 3, small, loss=dict(dtype=0, classes=3))
    put("gmm-mixed-diag-paa-init", small_batch + tail(skip=3, gmm=(mixed, 0, (), ())))
    put("gmm-k1-full-given", small_batch + tail(skip=3, gmm=(mixed, 1, ((0, [0]), (4, [1]), (5, [1])), ())))
    put("gmm-max-iter-0-k4", small_batch + tail(skip=3, gmm=(mixed, 0, ((1, [0]), (0, [3])), ())))
    put("gmm-float32-input-equal-reg-0", small_batch + tail(skip=3, gmm=(
        mixed, 2, ((6, [1]), (3, [0, 0, 0]), (4, [1])), ())))
    put("gmm-paa-costs-tol-0-k3", small_batch + tail(skip=3, gmm=(
        (9, 18, 27, 36, 40, 4, 3), 4, ((2, [0, 0, 0]), (0, [2]), (1, [119])), ())))
    put("gmm-ties-given-bad-weight", small_batch + tail(skip=3, gmm=(
        mixed, 5, ((5, [1]),), (228, 0, 0, 0, 0))))  # init_weights[0] = dval(-0.5, 1.5) = -0.5
    put("all-three-atss-coco", parity_seed(order[4:8], by_image, 2, small, loss=dict(dtype=0, classes=8))
        + tail(variant=0, gmm=(mixed, 4, (), ())))
    rnd = random.Random(20261126)
    for n in (64, 256):
        put("random-%d" % n, bytes(rnd.randrange(256) for _ in range(n)))


def regressions(rows):
    """Hand-made reproducers of the findings of the first fuzzing runs (docs/robustness.md),
    each independent of the others; raw crash files found later sit beside them."""
    out = os.path.join(HERE, "regressions", "api")
    order, by_image = images_of(rows)
    batch = order[8:10]

    def put(name, data):
        write(os.path.join(out, name), data)

    # a stride of 1e-30 (special value 14): ceil(100 / 1e-30) does not fit an int64
    tiny = bytes([1, 1, 0, 214])  # 1 patch: field 1 (strides), level 0, special 14
    e = Enc()
    generator(e, 0, (100, 100), anchor_patches=tiny)
    put("anchor-count-stride-1e-30", api_seed(batch, by_image, 2, (64, 64), gen=bytes(e.b)))
    # a stride of 1e-4 (special 23) on a 2147483647 x 2147483647 canvas (side special 2):
    # each side fits an int64, their product does not
    e = Enc()
    generator(e, 0, None, anchor_patches=bytes([1, 1, 0, 223]), raw_sides=bytes([226, 226]))
    put("anchor-count-product-overflow", api_seed(batch, by_image, 2, (64, 64), gen=bytes(e.b)))
    # the same through aa_point_generate: 1 level (ival 0 -> 1), stride patch 1e-30
    e = Enc()
    e.u8(1), e.side(100), e.side(100)
    e.u8(0)                        # ival: 1 level
    e.u8(1), e.u8(0), e.u8(214)    # 1 stride patch: level 0 = 1e-30
    e.u8(0)                        # nulls
    put("point-generate-stride-1e-30", api_seed(batch, by_image, 2, (64, 64), gen=bytes(e.b)))
    # an empty batch (1 level of 0 anchors, no images): workspace size 0
    put("empty-batch-null-workspace", b"")
    # every caller workspace one byte past a malloc'd address
    put("misaligned-caller-workspace", api_seed(batch, by_image, 2, (160, 256), misalign=7))
    # fuzz_parity: anchor (0, 0, 0, 0), GT (0, -1, 64, -0.0): the intersection's height is
    # -0, which the CPU reference kept (IoU -0) where the kernels clamp to +0
    e = Enc()
    e.u8(0)                        # the harness builds the anchors
    e.u8(0), e.u8(1)               # 1 level of 1 anchor
    e.u8(3), e.u32(1)              # explicit boxes, seed
    e.b += bytes([200, 200, 200, 200])  # special 0: (0, 0, 0 + 0, 0 + 0)
    e.u8(0)                        # no box patches
    e.u8(0), e.u8(0)               # no stride patch, no anchor corruption
    e.u8(1), e.u8(1)               # 1 image of 1 GT
    e.u8(3), e.u32(1)              # explicit boxes, seed
    e.b += bytes([200, 213, 220, 216])  # specials 0, -1, 64, 1: (0, -1, 0 + 64, -1 + 1)
    e.u8(1), e.u16(0), e.u8(3), e.u8(1)  # 1 patch: GT 0, coordinate 3 = special 1 (-0.0)
    e.u8(0), e.u8(0)               # no crowd flags or labels, no GT corruption
    e.u8(0), e.u8(0)               # no parameter patches, every struct given
    e.u8(0), e.u8(8), e.u8(0), e.u8(0)  # IoU (eps 1e-6), topk 9, outputs, no corruption
    write(os.path.join(HERE, "regressions", "parity", "overlaps-signed-zero"), bytes(e.b))


def main():
    rows = read_rows()
    with open(DATA, newline="") as f:
        header = next(csv.reader(f))
    readers_corpus(rows, header)
    api_corpus(rows)
    loss_corpus(rows)
    parity_corpus(rows)
    regressions(rows)


if __name__ == "__main__":
    main()
