#!/usr/bin/env python3
"""A PyTorch training step whose ATSS targets come from anchorassign.

A toy single-stage detector (strided convolutions for the five FPN levels, a class
and a box head), a batch of images with a ragged number of GTs each, and one step:
anchorassign assigns every anchor of every image (ATSS, mmdetection semantics), the
step turns the assignment into focal-loss and L1 box targets, and the optimiser
steps. Runs on the GPU when PyTorch sees one (the assignment then runs on the
tensors' device and PyTorch's current stream, without a host synchronisation),
else on the CPU reference.

    pip install ./python                     # or: PYTHONPATH=python ANCHORASSIGN_LIBRARY=...
    python3 examples/train_step_atss.py --steps 3
"""

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

try:
    import anchorassign as aa
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import anchorassign as aa

STRIDES = (8, 16, 32, 64, 128)


class ToyDetector(torch.nn.Module):
    """Features at strides 8..128, one ATSS anchor per location."""

    def __init__(self, num_classes, width=32):
        super().__init__()
        self.stem = torch.nn.Sequential(
            torch.nn.Conv2d(3, width, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(width, width, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(width, width, 3, stride=2, padding=1), torch.nn.ReLU())
        self.down = torch.nn.ModuleList(
            torch.nn.Conv2d(width, width, 3, stride=2, padding=1) for _ in STRIDES[1:])
        self.cls = torch.nn.Conv2d(width, num_classes, 3, padding=1)
        self.box = torch.nn.Conv2d(width, 4, 3, padding=1)

    def forward(self, images):
        feats = [self.stem(images)]
        for conv in self.down:
            feats.append(F.relu(conv(feats[-1])))
        # flatten level by level, row by row: the order of anchorassign's anchors
        cls = torch.cat([self.cls(f).permute(0, 2, 3, 1).flatten(1, 2) for f in feats], 1)
        box = torch.cat([self.box(f).permute(0, 2, 3, 1).flatten(1, 2) for f in feats], 1)
        return cls, box


def encode(anchors, gts):
    """Box deltas (dx, dy, dw, dh) of GTs relative to anchors (mmdetection's DeltaXYWH
    with means 0 and stds 1)."""
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    gw, gh = gts[:, 2] - gts[:, 0], gts[:, 3] - gts[:, 1]
    dx = ((gts[:, 0] + gts[:, 2]) - (anchors[:, 0] + anchors[:, 2])) * 0.5 / aw
    dy = ((gts[:, 1] + gts[:, 3]) - (anchors[:, 1] + anchors[:, 3])) * 0.5 / ah
    dw, dh = torch.log(gw.clamp(min=1) / aw), torch.log(gh.clamp(min=1) / ah)
    return torch.stack([dx, dy, dw, dh], 1)


def random_targets(batch, height, width, num_classes, gen):
    """What a data loader gives: per image a (n, 4) box tensor and (n,) int64 labels."""
    boxes, labels = [], []
    for _ in range(batch):
        n = int(torch.randint(0, 12, (1,), generator=gen))
        xy = torch.rand(n, 2, generator=gen) * torch.tensor([width * 0.8, height * 0.8])
        wh = 16 + torch.rand(n, 2, generator=gen) * 200
        b = torch.cat([xy, torch.minimum(xy + wh, torch.tensor([width, height]))], 1)
        boxes.append(b.float())
        labels.append(torch.randint(0, num_classes, (n,), generator=gen))
    return boxes, labels


def focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    """Sigmoid focal loss (RetinaNet), element by element."""
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    return ce * (1 - p_t) ** gamma * (alpha * targets + (1 - alpha) * (1 - targets))


def train_step(model, optimizer, ctx, anchors, images, gt_list, label_list):
    dev = images.device
    # one ragged batch: all GTs in one array, image i owning [offsets[i], offsets[i+1])
    counts = [len(b) for b in gt_list]                     # host metadata: no sync
    offsets = [0]
    for n in counts:
        offsets.append(offsets[-1] + n)
    gt_boxes = torch.cat(gt_list).to(dev).contiguous()
    gt_labels = torch.cat(label_list).to(dev).int()        # anchorassign takes int32 labels
    dev_offsets = torch.tensor(offsets)
    if dev.type == "cuda":
        dev_offsets = dev_offsets.pin_memory()
    dev_offsets = dev_offsets.to(dev, non_blocking=True)   # shared by the call and the gather

    t0 = time.perf_counter()
    r = ctx.atss(anchors, gt_boxes, offsets, labels=gt_labels, device_offsets=dev_offsets)
    assign_s = time.perf_counter() - t0                    # queue time on a GPU

    cls_out, box_out = model(images)                       # (B, A, C), (B, A, 4)
    pos = r.gt_index >= 0                                  # (B, A)
    num_pos = pos.sum().clamp(min=1).float()               # stays on the device

    cls_target = torch.zeros_like(cls_out)
    img, anc = pos.nonzero(as_tuple=True)
    cls_target[img, anc, r.labels[img, anc].long()] = 1.0
    cls_loss = focal_loss(cls_out, cls_target).sum() / num_pos

    glob = dev_offsets[img] + r.gt_index[img, anc].long()  # the GT of each positive
    box_target = encode(anchors.boxes[anc], gt_boxes[glob])
    box_loss = F.l1_loss(box_out[img, anc], box_target, reduction="sum") / num_pos

    loss = cls_loss + box_loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach(), pos.sum(), assign_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--size", type=int, nargs=2, default=(320, 448), metavar=("H", "W"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    dev = torch.device(args.device)
    height, width = args.size
    num_classes = 8

    # ATSS anchors (one square anchor of scale 8 per location), made once per canvas size
    anchors = aa.anchors(height, width, strides=STRIDES, ratios=(1.0,), octave_base_scale=8,
                         scales_per_octave=1)
    device_anchors = anchors._replace(boxes=torch.from_numpy(anchors.boxes).to(dev))
    ctx = aa.Context(dev.type, device=dev.index or 0)  # "cuda" or "cpu"
    model = ToyDetector(num_classes).to(dev)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    print("anchorassign %s on %s; %d anchors per image over %d levels" %
          (aa.library_version(), ctx.device_name, anchors.boxes.shape[0], len(STRIDES)))
    with ctx:
        for step in range(args.steps):
            images = torch.randn(args.batch, 3, height, width, device=dev)
            gts, labels = random_targets(args.batch, height, width, num_classes, gen)
            loss, npos, assign_s = train_step(model, optimizer, ctx, device_anchors, images,
                                              gts, labels)
            print("step %d: loss %.4f, %d positive anchors for %d GTs, assignment %.2f ms" %
                  (step, float(loss), int(npos), sum(len(g) for g in gts), assign_s * 1e3))


if __name__ == "__main__":
    main()
