"""Parameter structs from keyword arguments.

Each struct is filled by the library's own ``aa_*_params_init`` (its documented
defaults), then only the keywords given (not None) overwrite fields. Values are
checked for type and for fitting their C field; ranges are the library's to check.
"""

import operator

from . import _library as L
from ._errors import argument_error

_INT32 = (-(2 ** 31), 2 ** 31 - 1)


def as_int(value, name, lo=_INT32[0], hi=_INT32[1]):
    if isinstance(value, bool):
        value = int(value)
    try:
        v = operator.index(value)
    except TypeError:
        raise argument_error("%s: expected an integer, got %r" % (name, value)) from None
    if not lo <= v <= hi:
        raise argument_error("%s: %d is outside %d..%d" % (name, v, lo, hi))
    return v


def as_float(value, name):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise argument_error("%s: expected a real number, got %r" % (name, value)) from None


def as_flag(value, name):
    if isinstance(value, bool):
        return int(value)
    return 1 if as_int(value, name) else 0


def as_floats(values, name, capacity):
    try:
        vals = [as_float(v, "%s[%d]" % (name, i)) for i, v in enumerate(values)]
    except TypeError:
        raise argument_error("%s: expected a sequence of numbers, got %r"
                             % (name, values)) from None
    if not 1 <= len(vals) <= capacity:
        raise argument_error("%s: %d values, expected 1..%d" % (name, len(vals), capacity))
    return vals


def as_choice(value, name, table):
    """table[value], for a name among table's keys (an enum given by name)."""
    if value not in table:
        raise argument_error("%s: %r is not one of %s" % (name, value, ", ".join(table)))
    return table[value]


def choice(table):
    """A converter for _set: an enum given by name (as_choice)."""
    return lambda value, name: as_choice(value, name, table)


def _set(p, convert, **fields):
    """p.<name> = convert(value, name) for each keyword whose value is not None."""
    for name, value in fields.items():
        if value is not None:
            setattr(p, name, convert(value, name))


def _fill_box_loss(p, target_means, target_stds, **floats):
    """The head-loss fields PAA and LADA share: float fields by name, and the box
    coder's target_means / target_stds (4 values each)."""
    _set(p, as_float, **floats)
    for name, values in (("target_means", target_means), ("target_stds", target_stds)):
        if values is not None:
            v = as_floats(values, name, 4)
            if len(v) != 4:
                raise argument_error("%s: %d values, expected 4 (dx, dy, dw, dh)" % (name, len(v)))
            for i, x in enumerate(v):
                getattr(p, name)[i] = x


def max_iou(pos_iou_thr=None, neg_iou_thr=None, min_pos_iou=None, gt_max_assign_all=None,
            match_low_quality=None, ignore_iof_thr=None, ignore_wrt_candidates=None, eps=None):
    p = L.init_struct(L.MaxIouParams, "aa_max_iou_params_init")
    _fill_max_iou(p, pos_iou_thr, neg_iou_thr, min_pos_iou, gt_max_assign_all,
                  match_low_quality, ignore_iof_thr, ignore_wrt_candidates, eps)
    return p


def _fill_max_iou(p, pos_iou_thr, neg_iou_thr, min_pos_iou, gt_max_assign_all,
                  match_low_quality, ignore_iof_thr, ignore_wrt_candidates, eps):
    """Overwrites the given fields of an aa_max_iou_params (max_iou's, PAA's pre)."""
    _set(p, as_float, pos_iou_thr=pos_iou_thr)
    if neg_iou_thr is not None:
        if isinstance(neg_iou_thr, (tuple, list)):
            if len(neg_iou_thr) != 2:
                raise argument_error("neg_iou_thr: a scalar or a (lo, hi) pair, got %r"
                                     % (neg_iou_thr,))
            p.neg_iou_thr_lo = as_float(neg_iou_thr[0], "neg_iou_thr[0]")
            p.neg_iou_thr_hi = as_float(neg_iou_thr[1], "neg_iou_thr[1]")
        else:
            p.neg_iou_thr_lo = 0.0
            p.neg_iou_thr_hi = as_float(neg_iou_thr, "neg_iou_thr")
    _set(p, as_float, min_pos_iou=min_pos_iou)
    _set(p, as_flag, gt_max_assign_all=gt_max_assign_all, match_low_quality=match_low_quality)
    _set(p, as_float, ignore_iof_thr=ignore_iof_thr)
    _set(p, as_flag, ignore_wrt_candidates=ignore_wrt_candidates)
    _set(p, as_float, eps=eps)


def atss(topk=None, ignore_iof_thr=None, inside_margin=None, eps=None):
    p = L.init_struct(L.AtssParams, "aa_atss_params_init")
    _set(p, as_int, topk=topk)
    _set(p, as_float, ignore_iof_thr=ignore_iof_thr, inside_margin=inside_margin, eps=eps)
    return p


def fcos(center_sampling=None, center_sample_radius=None, regress_ranges=None):
    p = L.init_struct(L.FcosParams, "aa_fcos_params_init")
    _set(p, as_flag, center_sampling=center_sampling)
    _set(p, as_float, center_sample_radius=center_sample_radius)
    if regress_ranges is not None:
        try:
            ranges = [tuple(r) for r in regress_ranges]
        except TypeError:
            raise argument_error("regress_ranges: expected a sequence of (lo, hi) pairs, got %r"
                                 % (regress_ranges,)) from None
        if not 1 <= len(ranges) <= L.AA_MAX_LEVELS:
            raise argument_error("regress_ranges: %d ranges, expected 1..%d (one per level)"
                                 % (len(ranges), L.AA_MAX_LEVELS))
        for i, r in enumerate(ranges):
            if len(r) != 2:
                raise argument_error("regress_ranges[%d]: expected a (lo, hi) pair, got %r"
                                     % (i, r))
            p.regress_lo[i] = as_float(r[0], "regress_ranges[%d][0]" % i)
            p.regress_hi[i] = as_float(r[1], "regress_ranges[%d][1]" % i)
        p.num_regress_ranges = len(ranges)
    return p


def anchor(strides=None, ratios=None, scales=None, octave_base_scale=None,
           scales_per_octave=None, base_sizes=None, center_offset=None):
    p = L.init_struct(L.AnchorParams, "aa_anchor_params_init")
    if strides is not None:
        s = as_floats(strides, "strides", L.AA_MAX_LEVELS)
        p.num_levels = len(s)
        for i, v in enumerate(s):
            p.strides[i] = v
            p.base_sizes[i] = 0.0
    if base_sizes is not None:
        b = as_floats(base_sizes, "base_sizes", L.AA_MAX_LEVELS)
        if len(b) != p.num_levels:
            raise argument_error("base_sizes: %d values for %d levels" % (len(b), p.num_levels))
        for i, v in enumerate(b):
            p.base_sizes[i] = v
    if ratios is not None:
        r = as_floats(ratios, "ratios", 8)
        p.num_ratios = len(r)
        for i, v in enumerate(r):
            p.ratios[i] = v
    if scales is not None:
        s = as_floats(scales, "scales", 8)
        p.num_scales = len(s)
        for i, v in enumerate(s):
            p.scales[i] = v
    _set(p, as_float, octave_base_scale=octave_base_scale)
    _set(p, as_int, scales_per_octave=scales_per_octave)
    _set(p, as_float, center_offset=center_offset)
    return p


def gmm(num_components=None, max_iter=None, tol=None, reg_covar=None, covariance=None,
        float32_input=None):
    p = L.init_struct(L.GmmParams, "aa_gmm_params_init")
    if num_components is not None:
        # checked here: the init arrays' shape depends on it
        p.num_components = as_int(num_components, "num_components", 1, L.AA_GMM_MAX_COMPONENTS)
    _fill_gmm(p, max_iter, tol, reg_covar, covariance, float32_input)
    return p


def _fill_gmm(p, max_iter, tol, reg_covar, covariance, float32_input):
    """Overwrites the given fields of an aa_gmm_params (gmm_fit's, PAA's gmm)."""
    _set(p, as_flag, float32_input=float32_input)
    _set(p, as_int, max_iter=max_iter)
    _set(p, as_float, tol=tol, reg_covar=reg_covar)
    _set(p, choice(L.GMM_COVARIANCES), covariance=covariance)


_PAA_INITS = {"mmdet": "aa_paa_params_init", "original": "aa_paa_params_init_original"}


def paa(variant="mmdet", *, pos_iou_thr=None, neg_iou_thr=None, min_pos_iou=None,
        gt_max_assign_all=None, match_low_quality=None, ignore_iof_thr=None,
        ignore_wrt_candidates=None, eps=None, max_iter=None, tol=None, reg_covar=None,
        covariance=None, float32_input=None, topk=None, single_candidate_positive=None,
        separation=None, focal_alpha=None, focal_gamma=None, giou_weight=None, giou_eps=None,
        target_means=None, target_stds=None, wh_ratio_clip=None):
    """An aa_paa_params: the preset ``variant`` ("mmdet": aa_paa_params_init, "original":
    aa_paa_params_init_original), then the overrides given. The pre-assignment's fields
    (``params.pre``) go by max_iou's names, the mixture's (``params.gmm``) by gmm_fit's."""
    p = L.init_struct(L.PaaParams, as_choice(variant, "variant", _PAA_INITS))
    _fill_max_iou(p.pre, pos_iou_thr, neg_iou_thr, min_pos_iou, gt_max_assign_all,
                  match_low_quality, ignore_iof_thr, ignore_wrt_candidates, eps)
    _fill_gmm(p.gmm, max_iter, tol, reg_covar, covariance, float32_input)
    _set(p, as_int, topk=topk)
    _set(p, as_flag, single_candidate_positive=single_candidate_positive)
    _set(p, choice(L.PAA_SEPARATIONS), separation=separation)
    _fill_box_loss(p, target_means, target_stds, focal_alpha=focal_alpha,
                   focal_gamma=focal_gamma, giou_weight=giou_weight, giou_eps=giou_eps,
                   wh_ratio_clip=wh_ratio_clip)
    return p


def lada(*, region_radius=None, clip_region_to_gt=None, topk_per_level=None, topk=None,
         threshold=None, cls_weight=None, giou_weight=None, center_weight=None,
         focal_alpha=None, focal_gamma=None, giou_eps=None, target_means=None,
         target_stds=None, wh_ratio_clip=None):
    """An aa_lada_params: aa_lada_params_init's defaults, then the overrides given
    (threshold: "mean" or "mean_std")."""
    p = L.init_struct(L.LadaParams, "aa_lada_params_init")
    _set(p, as_float, region_radius=region_radius)
    _set(p, as_flag, clip_region_to_gt=clip_region_to_gt)
    _set(p, as_int, topk_per_level=topk_per_level, topk=topk)
    _set(p, choice(L.LADA_THRESHOLDS), threshold=threshold)
    _fill_box_loss(p, target_means, target_stds, cls_weight=cls_weight, giou_weight=giou_weight,
                   center_weight=center_weight, focal_alpha=focal_alpha,
                   focal_gamma=focal_gamma, giou_eps=giou_eps, wh_ratio_clip=wh_ratio_clip)
    return p
