"""Loading libanchorassign and its ctypes declarations.

The structs below mirror ``include/anchorassign.h`` field for field; keep them in
the header's order. Every pointer field is a ``c_void_p`` (the binding passes raw
addresses: host pointers, or CUDA device pointers on a CUDA context).

The library is looked up, in order:

1. the environment variable ``ANCHORASSIGN_LIBRARY`` (a path to the shared library);
2. the package directory, where ``pip install`` puts it (``anchorassign/lib/``);
3. the repository's build trees (``build/full``, ``build/ci-full``, ``build/cpu``,
   ``build/ci-cpu``, ``build-py``), for a checkout used in place;
4. the system's library path (``ctypes.util.find_library``).
"""

import ctypes
import ctypes.util
import glob
import os
import threading

from ._errors import Error, Status

# ---------------------------------------------------------------- C constants
AA_MAX_LEVELS = 16
AA_MAX_TOPK = 1024
AA_NEGATIVE = -1
AA_IGNORED = -2
AA_ATSS_NO_OVERLAP = -1.0e8

BACKENDS = {"auto": 0, "cpu": 1, "cuda": 2, "opencl": 3}
BACKEND_NAMES = {v: k for k, v in BACKENDS.items()}
MEMORY_NATIVE = 0
MEMORY_HOST = 1
OVERLAP_MODES = {"iou": 0, "iof": 1, "giou": 2}
AA_GMM_MAX_COMPONENTS = 4
GMM_COVARIANCES = {"diag": 0, "full": 1}
GMM_INIT_PAA = 0
GMM_INIT_GIVEN = 1
# aa_gmm_result.status, per segment
GMM_CONVERGED = 1
GMM_NOT_CONVERGED = 0
GMM_ILL_DEFINED = -1
GMM_TOO_FEW_POINTS = -2
# aa_dtype, by the dtype's name (NumPy's and PyTorch's spelling)
DTYPES = {"float32": 0, "float16": 1, "bfloat16": 2}
PAA_SEPARATIONS = {"mmdet": 0, "original": 1}

_c_int64_p = ctypes.POINTER(ctypes.c_int64)
_c_size_p = ctypes.POINTER(ctypes.c_size_t)


# ---------------------------------------------------------------- structs
class ContextOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("backend", ctypes.c_int),
        ("device", ctypes.c_int),
        ("platform", ctypes.c_int),
        ("memory", ctypes.c_int),
    ]


class StageTime(ctypes.Structure):  # aa_stage_time
    _fields_ = [("kernel", ctypes.c_char_p), ("ms", ctypes.c_double), ("bytes", ctypes.c_double)]


class Anchors(ctypes.Structure):
    _fields_ = [
        ("boxes", ctypes.c_void_p),
        ("num_anchors", ctypes.c_int64),
        ("num_levels", ctypes.c_int32),
        ("level_counts", ctypes.c_void_p),
        ("level_strides", ctypes.c_void_p),
    ]


class Gts(ctypes.Structure):
    _fields_ = [
        ("boxes", ctypes.c_void_p),
        ("offsets", ctypes.c_void_p),
        ("num_images", ctypes.c_int32),
        ("ignore_flags", ctypes.c_void_p),
        ("labels", ctypes.c_void_p),
        ("device_offsets", ctypes.c_void_p),
    ]


class Assignment(ctypes.Structure):
    _fields_ = [
        ("gt_index", ctypes.c_void_p),
        ("overlap", ctypes.c_void_p),
        ("labels", ctypes.c_void_p),
    ]


class AnchorParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("num_levels", ctypes.c_int32),
        ("strides", ctypes.c_float * AA_MAX_LEVELS),
        ("base_sizes", ctypes.c_float * AA_MAX_LEVELS),
        ("num_ratios", ctypes.c_int32),
        ("ratios", ctypes.c_float * 8),
        ("num_scales", ctypes.c_int32),
        ("scales", ctypes.c_float * 8),
        ("octave_base_scale", ctypes.c_float),
        ("scales_per_octave", ctypes.c_int32),
        ("center_offset", ctypes.c_float),
    ]


class MaxIouParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("pos_iou_thr", ctypes.c_float),
        ("neg_iou_thr_lo", ctypes.c_float),
        ("neg_iou_thr_hi", ctypes.c_float),
        ("min_pos_iou", ctypes.c_float),
        ("gt_max_assign_all", ctypes.c_int32),
        ("match_low_quality", ctypes.c_int32),
        ("ignore_iof_thr", ctypes.c_float),
        ("ignore_wrt_candidates", ctypes.c_int32),
        ("eps", ctypes.c_float),
    ]


class AtssParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("topk", ctypes.c_int32),
        ("ignore_iof_thr", ctypes.c_float),
        ("inside_margin", ctypes.c_float),
        ("eps", ctypes.c_float),
    ]


class FcosParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("center_sampling", ctypes.c_int32),
        ("center_sample_radius", ctypes.c_float),
        ("num_regress_ranges", ctypes.c_int32),
        ("regress_lo", ctypes.c_float * AA_MAX_LEVELS),
        ("regress_hi", ctypes.c_float * AA_MAX_LEVELS),
    ]


class GmmParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("num_components", ctypes.c_int32),
        ("max_iter", ctypes.c_int32),
        ("tol", ctypes.c_double),
        ("reg_covar", ctypes.c_double),
        ("covariance", ctypes.c_int),
        ("init", ctypes.c_int),
        ("init_weights", ctypes.c_void_p),
        ("init_means", ctypes.c_void_p),
        ("init_precisions", ctypes.c_void_p),
        ("float32_input", ctypes.c_int32),
    ]


class GmmSegments(ctypes.Structure):
    _fields_ = [
        ("points", ctypes.c_void_p),
        ("offsets", ctypes.c_void_p),
        ("num_segments", ctypes.c_int64),
        ("device_offsets", ctypes.c_void_p),
    ]


class GmmResult(ctypes.Structure):
    _fields_ = [
        ("weights", ctypes.c_void_p),
        ("means", ctypes.c_void_p),
        ("variances", ctypes.c_void_p),
        ("lower_bound", ctypes.c_void_p),
        ("iterations", ctypes.c_void_p),
        ("status", ctypes.c_void_p),
        ("labels", ctypes.c_void_p),
        ("log_density", ctypes.c_void_p),
    ]


class HeadOutputs(ctypes.Structure):
    _fields_ = [
        ("cls_logits", ctypes.c_void_p),
        ("bbox_deltas", ctypes.c_void_p),
        ("dtype", ctypes.c_int),
        ("num_classes", ctypes.c_int32),
    ]


class PaaParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("pre", MaxIouParams),
        ("gmm", GmmParams),
        ("topk", ctypes.c_int32),
        ("single_candidate_positive", ctypes.c_int32),
        ("separation", ctypes.c_int32),
        ("focal_alpha", ctypes.c_float),
        ("focal_gamma", ctypes.c_float),
        ("giou_weight", ctypes.c_float),
        ("giou_eps", ctypes.c_float),
        ("target_means", ctypes.c_float * 4),
        ("target_stds", ctypes.c_float * 4),
        ("wh_ratio_clip", ctypes.c_float),
    ]


LADA_THRESHOLDS = {"mean": 0, "mean_std": 1}


class LadaParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("region_radius", ctypes.c_float),
        ("clip_region_to_gt", ctypes.c_int32),
        ("topk_per_level", ctypes.c_int32),
        ("topk", ctypes.c_int32),
        ("threshold", ctypes.c_int),
        ("cls_weight", ctypes.c_float),
        ("giou_weight", ctypes.c_float),
        ("center_weight", ctypes.c_float),
        ("focal_alpha", ctypes.c_float),
        ("focal_gamma", ctypes.c_float),
        ("giou_eps", ctypes.c_float),
        ("target_means", ctypes.c_float * 4),
        ("target_stds", ctypes.c_float * 4),
        ("wh_ratio_clip", ctypes.c_float),
    ]


# ---------------------------------------------------------------- prototypes
_vp = ctypes.c_void_p
_st = ctypes.c_int  # aa_status
_PROTOTYPES = {
    "aa_version_number": (ctypes.c_uint, []),
    "aa_version_string": (ctypes.c_char_p, []),
    "aa_status_string": (ctypes.c_char_p, [ctypes.c_int]),
    "aa_backend_name": (ctypes.c_char_p, [ctypes.c_int]),
    "aa_context_options_init": (None, [_vp]),
    "aa_context_create": (_st, [ctypes.POINTER(ctypes.c_void_p), _vp]),
    "aa_context_destroy": (None, [_vp]),
    "aa_context_create_error": (ctypes.c_char_p, []),
    "aa_context_backend": (ctypes.c_int, [_vp]),
    "aa_context_device_name": (ctypes.c_char_p, [_vp]),
    "aa_context_last_error": (ctypes.c_char_p, [_vp]),
    "aa_context_set_stream": (_st, [_vp, _vp]),
    "aa_context_get_stream": (_st, [_vp, ctypes.POINTER(ctypes.c_void_p)]),
    "aa_context_reserve": (_st, [_vp, ctypes.c_size_t]),
    "aa_context_profile": (_st, [_vp, ctypes.c_int]),
    "aa_context_stages": (_st, [_vp, ctypes.POINTER(ctypes.POINTER(StageTime)),
                                ctypes.POINTER(ctypes.c_int)]),
    "aa_anchor_params_init": (None, [_vp]),
    "aa_anchor_count": (_st, [_vp, _vp, ctypes.c_int32, ctypes.c_int32, _vp, _c_int64_p]),
    "aa_anchor_generate": (_st, [_vp, _vp, ctypes.c_int32, ctypes.c_int32, _vp, ctypes.c_int64]),
    "aa_point_generate": (_st, [_vp, ctypes.c_int32, _vp, ctypes.c_float, ctypes.c_int32,
                                ctypes.c_int32, _vp, ctypes.c_int64, _vp, _c_int64_p]),
    "aa_overlaps": (_st, [_vp, ctypes.c_int, ctypes.c_float, _vp, _vp, _vp]),
    "aa_topk_nearest": (_st, [_vp, ctypes.c_int32, _vp, _vp, _vp]),
    "aa_candidate_iou_stats": (_st, [_vp, ctypes.c_int32, ctypes.c_float, _vp, _vp, _vp, _vp, _vp]),
    "aa_max_iou_params_init": (None, [_vp]),
    "aa_max_iou_workspace_size": (_st, [_vp, _vp, _vp, _vp, _c_size_p]),
    "aa_assign_max_iou": (_st, [_vp, _vp, _vp, _vp, _vp, _vp, ctypes.c_size_t]),
    "aa_atss_params_init": (None, [_vp]),
    "aa_atss_workspace_size": (_st, [_vp, _vp, _vp, _vp, _c_size_p]),
    "aa_assign_atss": (_st, [_vp, _vp, _vp, _vp, _vp, _vp, ctypes.c_size_t]),
    "aa_fcos_params_init": (None, [_vp]),
    "aa_fcos_workspace_size": (_st, [_vp, _vp, _vp, _vp, _c_size_p]),
    "aa_assign_fcos": (_st, [_vp, _vp, _vp, _vp, _vp, _vp, ctypes.c_size_t]),
    "aa_gmm_params_init": (None, [_vp]),
    "aa_gmm_workspace_size": (_st, [_vp, _vp, _vp, _c_size_p]),
    "aa_gmm_fit": (_st, [_vp, _vp, _vp, _vp, _vp, ctypes.c_size_t]),
    "aa_paa_params_init": (None, [_vp]),
    "aa_paa_params_init_original": (None, [_vp]),
    "aa_paa_costs": (_st, [_vp, _vp, _vp, _vp, _vp, _vp, _vp]),
    "aa_paa_select_workspace_size": (_st, [_vp, _vp, _vp, _vp, _c_size_p]),
    "aa_assign_paa_costs": (_st, [_vp, _vp, _vp, _vp, _vp, _vp, _vp, _vp, ctypes.c_size_t]),
    "aa_paa_workspace_size": (_st, [_vp, _vp, _vp, _vp, _c_size_p]),
    "aa_assign_paa": (_st, [_vp, _vp, _vp, _vp, _vp, _vp, _vp, ctypes.c_size_t]),
    "aa_lada_params_init": (None, [_vp]),
    "aa_lada_workspace_size": (_st, [_vp, _vp, _vp, _vp, _c_size_p]),
    "aa_assign_lada": (_st, [_vp, _vp, _vp, _vp, _vp, _vp, _vp, ctypes.c_size_t]),
}

# The major version this binding's structs were written against.
BINDING_MAJOR = 0

_lock = threading.Lock()
_lib = None
_lib_path = None


def _candidates():
    env = os.environ.get("ANCHORASSIGN_LIBRARY")
    if env:
        # An explicit choice: no fallback, so a wrong path is an error, not a surprise.
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    found = []
    for pattern in ("libanchorassign.so", "lib/libanchorassign.so", "lib*/libanchorassign.so",
                    "libanchorassign.dylib", "lib/libanchorassign.dylib",
                    "anchorassign.dll", "bin/anchorassign.dll"):
        found += sorted(glob.glob(os.path.join(here, pattern)))
    repo = os.path.dirname(os.path.dirname(here))  # python/anchorassign -> repository root
    for build in ("build/full", "build/ci-full", "build/cpu", "build/ci-cpu", "build-py"):
        found += sorted(glob.glob(os.path.join(repo, build, "libanchorassign.so")))
    system = ctypes.util.find_library("anchorassign")
    if system:
        found.append(system)
    return found, False


def _declare(lib):
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def library():
    """The loaded ``ctypes.CDLL`` (loaded on first use)."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        paths, explicit = _candidates()
        errors = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
                _declare(lib)
            except (OSError, AttributeError) as exc:
                errors.append("%s: %s" % (path, exc))
                if explicit:
                    break
                continue
            major = lib.aa_version_number() // 10000
            if major != BINDING_MAJOR:
                errors.append("%s: library version %s, the binding needs %d.x" %
                              (path, lib.aa_version_string().decode(), BINDING_MAJOR))
                continue
            _lib, _lib_path = lib, path
            return lib
        where = "; ".join(errors) if errors else "no candidate found"
        raise Error(Status.NOT_SUPPORTED,
                    "libanchorassign: cannot load the library (%s). Set ANCHORASSIGN_LIBRARY "
                    "to the path of libanchorassign.so, build the repository (build/full), or "
                    "pip install the package" % where)


def library_path():
    """The path of the shared library in use (loads it if needed)."""
    library()
    return _lib_path


def init_struct(struct_type, init_name):
    """A parameter struct filled by the library's ``aa_*_init`` function.

    The init function writes ``sizeof`` of the library's struct; it runs on a
    buffer with room to spare, so a library newer than this binding (a larger
    struct) cannot write past it. A larger library struct is fine (the library
    keeps its defaults for fields it has and we do not); a smaller one means the
    library is older than the binding.
    """
    size = ctypes.sizeof(struct_type)
    buf = (ctypes.c_char * (size + 1024))()
    getattr(library(), init_name)(ctypes.addressof(buf))
    params = struct_type.from_buffer(buf)
    params._buffer = buf  # keep the storage alive with the struct
    if params.struct_size < size:
        raise Error(Status.NOT_SUPPORTED,
                    "%s: the library's struct is %d bytes, the binding's %d; the library is "
                    "older than this binding" % (struct_type.__name__, params.struct_size, size))
    params.struct_size = size
    return params

