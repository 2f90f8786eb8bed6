"""The Context: one C context (or two, see below) and the calls that run on it."""

import ctypes
import threading

from . import _arrays as A
from . import _gmm
from . import _lada
from . import _paa
from . import _library as L
from . import _params as P
from ._errors import Error, Status, argument_error
from ._types import Assignment, CandidateStats, Stage


class _Batch:
    """The checked C structs of one call, and the Python objects they point into
    (kept alive until the call has returned)."""

    def __init__(self):
        self.keep = []
        self.anchors = L.Anchors()
        self.gts = L.Gts()
        self.handle = None
        self.stream = None       # set before a CUDA native call; None otherwise
        self.native_cuda = False
        self.kind = "numpy"
        self.device = None
        self.num_anchors = self.num_levels = self.num_images = self.num_gts = 0

    def empty(self, shape, dtype):
        a = A.empty(self.kind, self.device, shape, dtype)
        self.keep.append(a)
        return a


_DUMMY = (ctypes.c_char * 16)()  # a non-NULL address for empty arrays (never read)


def _ptr(v):
    """The address to hand the C library for a view (None for an absent array)."""
    if v is None:
        return None
    return v.ptr or ctypes.addressof(_DUMMY)


def _split_anchors(anchors):
    if isinstance(anchors, tuple):
        if len(anchors) == 3:
            return anchors
        if len(anchors) == 2:
            return anchors[0], anchors[1], None
        raise argument_error("anchors: expected an Anchors tuple (boxes, level_counts, strides) "
                             "or a (num_anchors, 4) array, got a tuple of %d" % len(anchors))
    return anchors, None, None


class Context:
    """A context of the C library: a backend, its device, stream and workspace.

    ``Context(backend="auto", device=0, platform=0)``; backend is one of "auto",
    "cpu" (the reference), "cuda" (CUDA device ``device``) or "opencl" (platform and
    device indices; the environment variables ``AA_OPENCL_PLATFORM`` and
    ``AA_OPENCL_DEVICE`` override them). "auto" takes a CUDA device, else an OpenCL
    GPU, else the CPU reference.

    Where arrays live:

    * "cpu": host arrays (NumPy, CPU tensors, ...).
    * "opencl": host arrays; the C context runs in ``AA_MEMORY_HOST`` mode (the
      library copies them to the device and back, and returns when the results are
      in host memory).
    * "cuda": CUDA arrays of the context's device, read in place (``AA_MEMORY_NATIVE``),
      on PyTorch's current stream for tensors (CuPy's for CuPy arrays, the legacy
      default stream for other producers); the call queues the work and returns
      without waiting for it. When the stream changes between calls, the new stream
      first waits (on the GPU) for the previous call's work, which shares the
      context's workspace. Host arrays work too: a second C context in
      ``AA_MEMORY_HOST`` mode takes them (created on first use).

    Results are allocated by the binding in the inputs' family and place (a
    ``torch.Tensor`` on the same device when any input is a tensor, else NumPy). No
    input is copied, with one exception: on CUDA the kernels read the GT offsets from
    device memory, so unless ``device_offsets`` (int64, on the device, equal to
    ``offsets``) is given, the binding copies the host offsets to the device
    (``num_images + 1`` integers, through pinned memory, asynchronously on the same
    stream). ``device_offsets`` is ignored when the call's arrays are host arrays.

    Threads: the C library allows one thread at a time per context; this object
    holds a lock around every call, so a Context may be shared between threads
    (calls are serialised). For parallel work use one Context per thread.

    ``close()`` (or leaving a ``with`` block) frees the C context; later calls raise
    :class:`Error`.
    """

    def __init__(self, backend="auto", device=0, platform=0):
        if backend not in L.BACKENDS:
            raise argument_error("backend: %r is not one of %s" % (backend, ", ".join(L.BACKENDS)))
        self._lock = threading.RLock()
        self._handles = {}
        self._last_stream = None  # the stream of the previous CUDA-array call
        self._profile = False     # profile(): every handle, also those made later
        self._last_handle = None  # the handle of the latest call (stages())
        self._device = P.as_int(device, "device", 0)
        self._platform = P.as_int(platform, "platform", 0)
        mode = L.MEMORY_HOST if backend == "opencl" else L.MEMORY_NATIVE
        handle = self._create(backend, mode)
        resolved = L.BACKEND_NAMES.get(L.library().aa_context_backend(handle), "unknown")
        if resolved == "opencl" and mode != L.MEMORY_HOST:  # "auto" chose an OpenCL GPU
            L.library().aa_context_destroy(handle)
            mode = L.MEMORY_HOST
            handle = self._create(backend, mode)
        self._handles[mode] = handle
        self._backend = resolved

    # ------------------------------------------------------------ life cycle
    def _create(self, backend, memory):
        lib = L.library()
        opts = L.init_struct(L.ContextOptions, "aa_context_options_init")
        opts.backend = L.BACKENDS[backend]
        opts.device = self._device
        opts.platform = self._platform
        opts.memory = memory
        handle = ctypes.c_void_p()
        st = lib.aa_context_create(ctypes.byref(handle), ctypes.addressof(opts))
        if st != Status.SUCCESS:
            raise Error(st, "backend %s: %s" % (backend, lib.aa_context_create_error().decode(
                "utf-8", "replace")))
        return handle.value

    def close(self):
        """Frees the C context(s). Idempotent."""
        with self._lock:
            handles, self._handles = self._handles, None
            for h in (handles or {}).values():
                L.library().aa_context_destroy(h)

    def __enter__(self):
        self._open_handle()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        if self.closed:
            return "<anchorassign.Context %s (closed)>" % self._backend
        return "<anchorassign.Context %s: %s>" % (self._backend, self.device_name)

    @property
    def closed(self):
        return self._handles is None

    @property
    def backend(self):
        """The backend the context runs on: "cpu", "cuda" or "opencl" ("auto" resolved)."""
        return self._backend

    @property
    def device(self):
        """The device index the context was created for (CUDA ordinal / OpenCL index)."""
        return self._device

    @property
    def device_name(self):
        """What the context runs on, e.g. "CPU reference" or the OpenCL device's name."""
        with self._lock:
            name = L.library().aa_context_device_name(self._open_handle())
            return name.decode("utf-8", "replace")

    def _open_handle(self):
        if self._handles is None:
            raise Error(Status.INVALID_ARGUMENT, "context: it has been closed")
        return next(iter(self._handles.values()))

    def _handle(self, memory):
        self._open_handle()
        h = self._handles.get(memory)
        if h is None:
            h = self._create(self._backend, memory)
            if self._profile:
                st = L.library().aa_context_profile(h, 1)
                if st != Status.SUCCESS:
                    L.library().aa_context_destroy(h)
                    raise Error(st, "aa_context_profile on a new handle")
            self._handles[memory] = h
        self._last_handle = h
        return h

    def _check(self, handle, status):
        if status != Status.SUCCESS:
            message = L.library().aa_context_last_error(handle)
            raise Error(status, message.decode("utf-8", "replace"))

    def reserve(self, nbytes):
        """Grows the context's workspace to at least ``nbytes`` now (``aa_context_reserve``),
        so later calls of that size allocate nothing. On a CUDA context this is the
        device workspace of CUDA-array calls."""
        with self._lock:
            h = self._handle(L.MEMORY_HOST if self._backend == "opencl" else L.MEMORY_NATIVE)
            n = P.as_int(nbytes, "nbytes", 0, 2 ** 63 - 1)
            self._check(h, L.library().aa_context_reserve(h, n))

    def profile(self, on=True):
        """Experimental (``aa_context_profile``): with ``on``, a GPU context times each
        kernel launch of the calls that follow (CUDA: events, the call then waits for
        its last one; OpenCL: the queue is waited for around each launch); see
        :meth:`stages`. The CPU reference raises NOT_SUPPORTED."""
        with self._lock:
            self._open_handle()
            for h in self._handles.values():
                self._check(h, L.library().aa_context_profile(h, 1 if on else 0))
            self._profile = bool(on)

    def stages(self):
        """The kernel launches of the latest call, in order, as :class:`Stage` tuples
        (kernel name, milliseconds, least bytes moved; ``aa_context_stages``); [] with
        profiling off."""
        with self._lock:
            h = self._open_handle()
            if self._last_handle is not None:
                h = self._last_handle
            ptr = ctypes.POINTER(L.StageTime)()
            count = ctypes.c_int(0)
            st = L.library().aa_context_stages(h, ctypes.byref(ptr), ctypes.byref(count))
            if st != Status.SUCCESS:
                raise Error(st, "stages: the %s backend has no kernel launches to time"
                            % self._backend)
            return [Stage(ptr[k].kernel.decode("ascii"), ptr[k].ms, ptr[k].bytes)
                    for k in range(count.value)]

    # ------------------------------------------------------------ inputs
    def _batch(self, anchors, gt_boxes, offsets, ignore=None, labels=None, device_offsets=None,
               extra=()):
        """Checks the inputs of a call and builds its C structs. ``extra``: more
        (name, view) pairs that must sit with the others (e.g. candidates)."""
        b = _Batch()
        boxes, level_counts, strides = _split_anchors(anchors)
        av = A.check(A.view(boxes, "anchors"), "anchors", ("float32",), (None, 4))
        n = av.shape[0]
        lc = A.host_ints([n] if level_counts is None else level_counts, "level_counts")
        if not 1 <= lc.shape[0] <= L.AA_MAX_LEVELS:
            raise argument_error("level_counts: %d levels, expected 1..%d" %
                                 (lc.shape[0], L.AA_MAX_LEVELS))
        if int(lc.sum()) != n:
            raise argument_error("level_counts: they sum to %d, but anchors has %d rows" %
                                 (int(lc.sum()), n))
        st = None if strides is None else A.host_floats(strides, "strides", lc.shape[0])

        gv = A.check(A.view(gt_boxes, "gt_boxes"), "gt_boxes", ("float32",), (None, 4))
        off = A.host_ints(offsets, "offsets")
        if off.shape[0] < 1:
            raise argument_error("offsets: empty; expected num_images + 1 entries, starting at 0")
        if off[-1] != gv.shape[0]:
            raise argument_error("offsets: the last entry (%d) must equal the number of GTs, "
                                 "gt_boxes.shape[0] (%d)" % (off[-1], gv.shape[0]))
        t = gv.shape[0]
        iv = None if ignore is None else A.check(A.view(ignore, "ignore"), "ignore",
                                                 ("uint8", "bool"), (t,))
        lv = None if labels is None else A.check(
            A.view(labels, "labels"), "labels", ("int32",), (t,),
            " (convert with labels.int() or labels.astype(numpy.int32))")

        named = [("gt_boxes", gv), ("anchors", av), ("ignore", iv), ("labels", lv)] + list(extra)
        self._place(b, named)

        dov = None
        if b.native_cuda:
            if device_offsets is not None:
                dov = A.check(A.view(device_offsets, "device_offsets"), "device_offsets",
                              ("int64",), (off.shape[0],))
                self._place_check("device_offsets", dov, b)
            else:
                dov = self._upload_offsets(off, b)
        b.keep += [av, lc, st, gv, off, iv, lv, dov]

        b.anchors.boxes = _ptr(av)
        b.anchors.num_anchors = n
        b.anchors.num_levels = lc.shape[0]
        b.anchors.level_counts = lc.ctypes.data
        b.anchors.level_strides = None if st is None else st.ctypes.data
        b.gts.boxes = _ptr(gv)
        b.gts.offsets = off.ctypes.data
        b.gts.num_images = P.as_int(off.shape[0] - 1, "offsets (number of images)")
        b.gts.ignore_flags = _ptr(iv)
        b.gts.labels = _ptr(lv)
        b.gts.device_offsets = _ptr(dov)
        b.num_anchors, b.num_levels = n, lc.shape[0]
        b.num_images, b.num_gts = off.shape[0] - 1, t
        return b

    def _place(self, b, named):
        """Decides where a call runs from where its arrays are."""
        present = [(name, v) for name, v in named if v is not None]
        ref_name, ref = present[0]
        for name, v in present[1:]:
            known = v.device is not None and v.device >= 0 and ref.device >= 0
            if (v.device is None) != (ref.device is None) or (known and v.device != ref.device):
                raise argument_error("%s: in %s memory, but %s is in %s memory; every array of a "
                                     "call must be in the same place" %
                                     (name, v.where(), ref_name, ref.where()))
        b.kind = A.result_kind([v for _, v in present])
        if ref.device is None:
            b.device = None
            # CPU: host memory is native; OpenCL and CUDA: the library's host-array mode
            b.handle = self._handle(L.MEMORY_NATIVE if self._backend == "cpu" else L.MEMORY_HOST)
            return
        if self._backend != "cuda":
            raise argument_error("%s: a CUDA array (%s), but this context runs on %s, which takes "
                                 "host arrays; use Context(\"cuda\")" %
                                 (ref_name, ref.where(), self._backend))
        for name, v in present:
            self._place_check(name, v, b)
        b.device = self._device
        b.native_cuda = True
        b.handle = self._handle(L.MEMORY_NATIVE)
        b.stream = self._current_stream(b.kind)

    def _place_check(self, name, v, b):
        if v.device is None:
            raise argument_error("%s: a host array, but the call's other arrays are on cuda:%d" %
                                 (name, self._device))
        if v.device >= 0 and v.device != self._device:
            raise argument_error("%s: on %s, but this context runs on cuda:%d" %
                                 (name, v.where(), self._device))

    def _current_stream(self, kind):
        if kind == "torch":
            torch = A.torch_module()
            return torch.cuda.current_stream(self._device).cuda_stream
        if kind == "cupy":
            import cupy
            with cupy.cuda.Device(self._device):
                return cupy.cuda.get_current_stream().ptr
        return 0  # the legacy default stream

    def _upload_offsets(self, off, b):
        """The device copy of the offsets the CUDA kernels read (see the class doc)."""
        if b.kind != "torch":
            raise argument_error("device_offsets: required with CUDA arrays other than PyTorch "
                                 "tensors: the offsets as an int64 array on the device")
        torch = A.torch_module()
        host = torch.from_numpy(off).pin_memory()
        # Queued on the device's current stream (the one the call runs on), from pinned
        # memory: no host synchronisation, and PyTorch keeps the pinned block until the
        # copy is done.
        dev = host.to(device=torch.device("cuda", self._device), non_blocking=True)
        b.keep.append(host)
        return A.view(dev, "device_offsets")

    def _order_after(self, previous, b):
        """Makes the call's stream wait (on the GPU) for the work of the previous call,
        which ran on another stream: the C context's workspace is reused from call to
        call, so the new stream must not overwrite it while the old one may read it."""
        if b.kind == "cupy":
            import cupy
            with cupy.cuda.Device(self._device):
                event = cupy.cuda.Event(disable_timing=True)
                event.record(cupy.cuda.ExternalStream(previous))
                cupy.cuda.ExternalStream(b.stream).wait_event(event)
            return
        torch = A.torch_module()
        if torch is None:
            import torch
        dev = torch.device("cuda", self._device)
        torch.cuda.ExternalStream(b.stream, device=dev).wait_stream(
            torch.cuda.ExternalStream(previous, device=dev))

    def _run(self, b, fn, *args):
        lib = L.library()
        if b.native_cuda:
            if self._last_stream is not None and self._last_stream != b.stream:
                self._order_after(self._last_stream, b)
            self._check(b.handle, lib.aa_context_set_stream(b.handle, b.stream))
            self._last_stream = b.stream
        self._check(b.handle, getattr(lib, fn)(b.handle, *args))

    def _assignment(self, b, want_overlap):
        shape = (b.num_images, b.num_anchors)
        gi = b.empty(shape, "int32")
        ov = b.empty(shape, "float32") if want_overlap else None
        lb = b.empty(shape, "int32") if b.gts.labels else None
        out = L.Assignment(A.address(gi), A.address(ov), A.address(lb))
        b.keep.append(out)
        return Assignment(gi, ov, lb), out

    def _assign(self, fn, params, anchors, gt_boxes, offsets, ignore, labels, device_offsets,
                overlap):
        with self._lock:
            self._open_handle()
            b = self._batch(anchors, gt_boxes, offsets, ignore, labels, device_offsets)
            result, out = self._assignment(b, overlap)
            self._run(b, fn, ctypes.addressof(params), ctypes.addressof(b.anchors),
                      ctypes.addressof(b.gts), ctypes.addressof(out), None, 0)
            return result

    # ------------------------------------------------------------ assigners
    def max_iou(self, anchors, gt_boxes, offsets, *, ignore=None, labels=None,
                device_offsets=None, overlap=True, pos_iou_thr=None, neg_iou_thr=None,
                min_pos_iou=None, gt_max_assign_all=None, match_low_quality=None,
                ignore_iof_thr=None, ignore_wrt_candidates=None, eps=None):
        """mmdetection's ``MaxIoUAssigner`` (RetinaNet), ``aa_assign_max_iou``.

        anchors:  an :class:`Anchors` (or a (num_anchors, 4) float32 array: one level).
        gt_boxes: float32 (num_gts, 4), the GTs of every image; image i owns rows
                  ``offsets[i]:offsets[i+1]``.
        offsets:  num_images + 1 integers (host), offsets[0] = 0, offsets[-1] = num_gts.
        ignore:   optional uint8/bool (num_gts,): nonzero marks a crowd / ignore region,
                  never assigned (ignores anchors with IoF > ignore_iof_thr when that is > 0).
        labels:   optional int32 (num_gts,) class labels (>= 0): asks for ``labels`` out.
        overlap:  False skips the overlap output.
        Parameters (None keeps the library default): pos_iou_thr 0.5; neg_iou_thr 0.4
        (a scalar t means [0, t), a pair (lo, hi) means [lo, hi)); min_pos_iou 0;
        gt_max_assign_all True; match_low_quality True; ignore_iof_thr -1 (off);
        ignore_wrt_candidates True; eps 1e-6.
        Returns an :class:`Assignment`; overlap is the anchor's max IoU over the image's
        GTs (-1 where a crowd region ignores it, 0 for an image without GTs).
        """
        p = P.max_iou(pos_iou_thr, neg_iou_thr, min_pos_iou, gt_max_assign_all,
                      match_low_quality, ignore_iof_thr, ignore_wrt_candidates, eps)
        return self._assign("aa_assign_max_iou", p, anchors, gt_boxes, offsets, ignore, labels,
                            device_offsets, overlap)

    def atss(self, anchors, gt_boxes, offsets, *, ignore=None, labels=None, device_offsets=None,
             overlap=True, topk=None, ignore_iof_thr=None, inside_margin=None, eps=None):
        """mmdetection's ``ATSSAssigner``, ``aa_assign_atss``.

        Arguments as :meth:`max_iou`; ``anchors`` must carry its level counts (ATSS picks
        candidates per level). Parameters (None keeps the library default): topk 9,
        ignore_iof_thr -1 (off), inside_margin 0.01, eps 1e-6.
        Returns an :class:`Assignment`; overlap is the IoU with the assigned GT for
        positives, -1e8 (``ATSS_NO_OVERLAP``) otherwise, 0 for an image without GTs.
        """
        p = P.atss(topk, ignore_iof_thr, inside_margin, eps)
        return self._assign("aa_assign_atss", p, anchors, gt_boxes, offsets, ignore, labels,
                            device_offsets, overlap)

    def fcos(self, anchors, gt_boxes, offsets, *, ignore=None, labels=None, device_offsets=None,
             overlap=True, center_sampling=None, center_sample_radius=None, regress_ranges=None):
        """FCOS targets (mmdetection's ``FCOSHead._get_targets_single``), ``aa_assign_fcos``.

        ``anchors``: points from :func:`points` (the centre of each box is its point),
        with strides when ``center_sampling`` is on. Crowd GTs are skipped.
        Parameters (None keeps the library default): center_sampling False,
        center_sample_radius 1.5, regress_ranges ((-1, 64), (64, 128), (128, 256),
        (256, 512), (512, 1e8)), one (lo, hi) pair per level.
        Returns an :class:`Assignment`; overlap is the centre-ness target of positives,
        0 otherwise.
        """
        p = P.fcos(center_sampling, center_sample_radius, regress_ranges)
        return self._assign("aa_assign_fcos", p, anchors, gt_boxes, offsets, ignore, labels,
                            device_offsets, overlap)

    def paa(self, anchors, gt_boxes, offsets, cls_logits, bbox_deltas, *, labels=None,
            ignore=None, device_offsets=None, overlap=True, variant="mmdet", **params):
        """Probabilistic anchor assignment (mmdetection's ``PAAHead``), ``aa_assign_paa``:
        a max-IoU pre-assignment, a cost per pre-assigned anchor from the head outputs,
        per GT a two-component mixture over its lowest-cost candidates, and the
        separation (docs/semantics.md "PAA"). Every backend; from device memory a GT
        whose cost is not finite gets no positive (the CPU refuses such costs).

        Arguments as :meth:`max_iou`, and:
        cls_logits:  (num_images, num_anchors, num_classes) sigmoid logits, in
                     mmdetection's ``levels_to_images`` layout;
        bbox_deltas: (num_images, num_anchors, 4) DeltaXYWH deltas. Both float32,
                     float16 (NumPy or PyTorch) or bfloat16 (``torch.bfloat16``), one
                     dtype for both; finite.
        labels:      int32 (num_gts,), required, each below num_classes.
        variant:     "mmdet" (``aa_paa_params_init``: GIoU weight 1.3, 'diag' mixture,
                     mmdetection's separation) or "original" (``aa_paa_params_init_original``,
                     kkhoot/PAA: weight 1, 'full', a single candidate is positive).
        Overrides of the variant's parameters (keywords; None keeps the preset):
        the pre-assignment's by :meth:`max_iou`'s names (pos_iou_thr 0.1, neg_iou_thr
        0.1, min_pos_iou 0, gt_max_assign_all, match_low_quality, ignore_iof_thr -1,
        ignore_wrt_candidates, eps); the mixture's max_iter 100, tol 1e-3, reg_covar
        1e-6, covariance ("diag"/"full"), float32_input True; topk 9,
        single_candidate_positive, separation ("mmdet"/"original"), focal_alpha 0.25,
        focal_gamma 2, giou_weight, giou_eps 1e-6, target_means (0,0,0,0),
        target_stds (.1,.1,.2,.2), wh_ratio_clip 0.016.
        Returns an :class:`Assignment`; overlap is the anchor's cost for every anchor
        pre-assigned to a GT (positive or not), +inf otherwise.
        """
        return _paa.assign(self, anchors, gt_boxes, offsets, cls_logits, bbox_deltas, ignore,
                           labels, device_offsets, overlap, variant, params)

    def paa_costs(self, anchors, gt_boxes, offsets, pre_gt_index, cls_logits, bbox_deltas, *,
                  labels=None, ignore=None, device_offsets=None, variant="mmdet", **params):
        """PAA's cost alone (``aa_paa_costs``): for every anchor pre-assigned to a GT
        (``pre_gt_index`` >= 0: int32 (num_images, num_anchors), the gt_index of
        :meth:`max_iou` run with PAA's pre-assignment parameters), the sigmoid focal
        loss summed over classes plus giou_weight x the GIoU loss of the decoded box;
        +inf for the other anchors. Head outputs, labels, variant and overrides as
        :meth:`paa`. Returns float32 (num_images, num_anchors)."""
        return _paa.costs(self, anchors, gt_boxes, offsets, pre_gt_index, cls_logits,
                          bbox_deltas, ignore, labels, device_offsets, variant, params)

    def assign_paa_costs(self, anchors, gt_boxes, offsets, pre_gt_index, costs, *, labels=None,
                         ignore=None, device_offsets=None, overlap=True, variant="mmdet",
                         **params):
        """PAA's selection from a pre-assignment and the caller's own costs
        (``aa_assign_paa_costs``): pre_gt_index int32 and costs float32, both
        (num_images, num_anchors); costs are read where pre_gt_index >= 0 and must be
        finite there. labels optional (for the labels output). Variant and overrides as
        :meth:`paa` (the cost's own parameters are unused). Returns an
        :class:`Assignment` as :meth:`paa` does."""
        return _paa.assign_costs(self, anchors, gt_boxes, offsets, pre_gt_index, costs, ignore,
                                 labels, device_offsets, overlap, variant, params)

    def lada(self, anchors, gt_boxes, offsets, cls_logits, bbox_deltas, *, labels=None,
             ignore=None, device_offsets=None, overlap=True, **params):
        """Lightweight anchor dynamic assignment (Han et al., Sensors 2023),
        ``aa_assign_lada``: per GT and level the anchors whose centre lies in a centre
        region of the GT's aspect ratio, a combined loss per (anchor, GT), per level the
        topk_per_level lowest and overall the topk lowest as candidates, positives
        strictly below the mean (or mean + std) of their losses; an anchor claimed by
        several GTs goes to the lowest loss (docs/semantics.md "LADA", which says what
        is the paper's and what is our reading). Every backend; on a GPU backend a
        loss beyond float32 costs its GT its positives where the CPU raises
        INVALID_ARGUMENT.

        Arguments as :meth:`paa` (``anchors`` with strides: the region scales with the
        level's stride; labels required). Overrides (keywords; None keeps the default):
        region_radius 1.5, clip_region_to_gt True, topk_per_level 9, topk 20,
        threshold "mean" or "mean_std", cls_weight 1, giou_weight 1.5, center_weight 1,
        focal_alpha 0.25, focal_gamma 2, giou_eps 1e-6, target_means (0,0,0,0),
        target_stds (.1,.1,.2,.2), wh_ratio_clip 0.016.
        Returns an :class:`Assignment`; overlap is the winning loss of positives, +inf
        otherwise; LADA ignores nothing.
        """
        return _lada.assign(self, anchors, gt_boxes, offsets, cls_logits, bbox_deltas, ignore,
                            labels, device_offsets, overlap, params)

    def workspace_size(self, assigner, anchors, gt_boxes, offsets, *, ignore=None, labels=None,
                       device_offsets=None, **params):
        """Bytes of workspace ``assigner`` ("max_iou", "atss", "fcos", "paa" with
        ``variant`` and :meth:`paa`'s overrides, or "lada") needs for this batch
        (``aa_*_workspace_size``), for :meth:`reserve`."""
        makers = {"max_iou": P.max_iou, "atss": P.atss, "fcos": P.fcos, "paa": P.paa,
                  "lada": P.lada}
        if assigner not in makers:
            raise argument_error("assigner: %r is not one of max_iou, atss, fcos, paa, lada"
                                 % (assigner,))
        try:
            p = makers[assigner](**params)
        except TypeError as exc:
            raise argument_error("params: %s" % exc) from None
        with self._lock:
            self._open_handle()
            b = self._batch(anchors, gt_boxes, offsets, ignore, labels, device_offsets)
            size = ctypes.c_size_t()
            self._check(b.handle, getattr(L.library(), "aa_%s_workspace_size" % assigner)(
                b.handle, ctypes.addressof(p), ctypes.addressof(b.anchors),
                ctypes.addressof(b.gts), ctypes.byref(size)))
            return size.value

    # ------------------------------------------------------------ primitives
    def overlaps(self, anchors, gt_boxes, offsets, *, mode="iou", eps=None, device_offsets=None):
        """Pairwise overlaps of each GT with every anchor (``aa_overlaps``).

        mode: "iou", "iof" (over the anchor's area) or "giou"; eps (union floor) 1e-6.
        Returns float32 (num_gts, num_anchors): row g is GT g (all images' GTs in
        order), i.e. mmdetection's ``bbox_overlaps(gts, anchors)`` per image, stacked.
        """
        if mode not in L.OVERLAP_MODES:
            raise argument_error("mode: %r is not one of iou, iof, giou" % (mode,))
        eps = 1e-6 if eps is None else P.as_float(eps, "eps")
        with self._lock:
            self._open_handle()
            b = self._batch(anchors, gt_boxes, offsets, device_offsets=device_offsets)
            out = b.empty((b.num_gts, b.num_anchors), "float32")
            self._run(b, "aa_overlaps", L.OVERLAP_MODES[mode], eps, ctypes.addressof(b.anchors),
                      ctypes.addressof(b.gts), A.address(out))
            return out

    def topk_nearest(self, anchors, gt_boxes, offsets, *, topk=9, device_offsets=None):
        """The first step of ATSS (``aa_topk_nearest``): per GT and level, the indices of
        the ``topk`` anchors with the nearest centres (L2, ties to the lower index), -1
        past the level's size. Returns int32 (num_gts, num_levels, topk)."""
        k = P.as_int(topk, "topk", 1, L.AA_MAX_TOPK)
        with self._lock:
            self._open_handle()
            b = self._batch(anchors, gt_boxes, offsets, device_offsets=device_offsets)
            out = b.empty((b.num_gts, b.num_levels, k), "int32")
            self._run(b, "aa_topk_nearest", k, ctypes.addressof(b.anchors),
                      ctypes.addressof(b.gts), A.address(out))
            return out

    def candidate_iou_stats(self, anchors, gt_boxes, offsets, candidates, *, eps=None,
                            device_offsets=None):
        """Per GT, mean and unbiased std of the IoU over its candidates (as written by
        :meth:`topk_nearest`; -1 entries skipped), in double (``aa_candidate_iou_stats``).
        candidates: int32 (num_gts, num_levels, topk). Returns a :class:`CandidateStats`."""
        eps = 1e-6 if eps is None else P.as_float(eps, "eps")
        with self._lock:
            self._open_handle()
            cv = A.view(candidates, "candidates")
            if len(cv.shape) != 3:
                raise argument_error("candidates: expected shape (num_gts, num_levels, topk), "
                                     "got %s" % (cv.shape,))
            k = P.as_int(cv.shape[2], "candidates.shape[2] (topk)", 1, L.AA_MAX_TOPK)
            b = self._batch(anchors, gt_boxes, offsets, device_offsets=device_offsets,
                            extra=[("candidates", cv)])
            A.check(cv, "candidates", ("int32",), (b.num_gts, b.num_levels, k))
            mean = b.empty((b.num_gts,), "float64")
            std = b.empty((b.num_gts,), "float64")
            self._run(b, "aa_candidate_iou_stats", k, eps, ctypes.addressof(b.anchors),
                      ctypes.addressof(b.gts), _ptr(cv), A.address(mean), A.address(std))
            return CandidateStats(mean, std)

    # ------------------------------------------------------------ Gaussian mixtures
    def gmm_fit(self, points, offsets, num_components=2, max_iter=100, tol=1e-3, reg_covar=1e-6,
                covariance="diag", init_weights=None, init_means=None, init_precisions=None, *,
                device_offsets=None, float32_input=False):
        """Fits a 1-D Gaussian mixture to each segment of ``points`` at once
        (``aa_gmm_fit``), as scikit-learn's ``GaussianMixture(num_components,
        covariance_type=covariance, tol=tol, reg_covar=reg_covar, max_iter=max_iter,
        weights_init=..., means_init=..., precisions_init=...).fit(x)`` followed by
        ``predict(x)`` and ``score_samples(x)`` would, in double.

        points:  float32 (N,) (or (N, 1)); segment s owns ``points[offsets[s]:offsets[s+1]]``.
        offsets: S + 1 integers (host), offsets[0] = 0, offsets[-1] = N.
        num_components: K, 1..4. covariance: "diag" (mmdetection's PAAHead) or "full"
        (scikit-learn's default); the same model in 1-D, different arithmetic.
        init_weights, init_means, init_precisions: all three float64 (S, K) arrays in the
        points' memory, or none: then PAA's init (weights 1/K, means evenly spaced from the
        segment's minimum to its maximum, precisions 1).
        float32_input: True for scikit-learn's arithmetic on a float32 array (as
        mmdetection's PAAHead hands it), every backend.
        Returns a :class:`GmmResult`; the per-segment ``status`` says whether scikit-learn
        would have converged (GMM_CONVERGED), warned (GMM_NOT_CONVERGED) or raised
        (GMM_ILL_DEFINED, GMM_TOO_FEW_POINTS).
        """
        return _gmm.fit(self, points, offsets, num_components, max_iter, tol, reg_covar,
                        covariance, init_weights, init_means, init_precisions, device_offsets,
                        float32_input)
