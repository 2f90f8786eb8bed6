// bench_floor.h - the floor of a call on a device backend (cuda, opencl-native): what
// no implementation of that call could beat on that device, measured in the same
// process, with the same clock, as the call itself (bench_device.h's Memory: CUDA
// events on the context's stream; OpenCL the wall clock between clFinish calls).
//
//   copy bandwidth  (read + write bytes) / time of a device-to-device copy between two
//                   buffers of the largest size from 512 MiB down to 32 MiB that can be
//                   allocated: median of 10 copies after 3 untimed ones;
//   one-launch call the median time of 31 calls of aa_overlaps on one anchor and one GT
//                   (device buffers): the cheapest call there is, one launch, waited for;
//   queued launch   the time of 64 such calls queued back to back, divided by 64:
//                   median of 5 (what each further launch of a call costs at least).
//
// floor(call) = max(one-launch call + (launches - 1) x queued launch,
//                   bytes_min / copy bandwidth)
// where launches is the call's own count (aa_context_stages, profiling on:
// profile_stages, which also gives each launch's time and least bytes) and bytes_min
// its inputs read once plus its outputs written once (bench_assign's counter): a call waits at least for one round trip and for each
// further launch in the queue, and moves at least bytes_min at the copy bandwidth.
// Header-only, one translation unit (bench_assign.cpp).
#ifndef AA_BENCH_FLOOR_H
#define AA_BENCH_FLOOR_H

#include <algorithm>
#include <string>
#include <vector>

#include "anchorassign.h"
#include "bench_device.h"

namespace bench_floor {

struct Floor {
    bool measured = false;
    double copy_bytes_per_s = 0.0; // read + write bytes per second
    size_t copy_buffer_bytes = 0;  // the size of each buffer copied
    double call_s = 0.0;           // one-launch call
    double queued_s = 0.0;         // one more launch in a queue of them
};

inline double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The copy bandwidth (above); false with err set when no size from 512 MiB to 32 MiB
// can be allocated twice or a copy fails.
inline bool measure_copy(bench_device::Memory &mem, Floor *f, std::string &err)
{
    for (size_t bytes = size_t(512) << 20; bytes >= (size_t(32) << 20); bytes /= 2) {
        std::string no_room; // a failed allocation only means: try a smaller size
        void *src = mem.alloc(bytes, no_room);
        void *dst = src ? mem.alloc(bytes, no_room) : nullptr;
        if (!dst) {
            if (src && !mem.release(src, err))
                return false;
            continue;
        }
        std::vector<double> t;
        bool ok = mem.fill(src, 1, bytes, err);
        for (int i = 0; ok && i < 3; ++i)
            ok = mem.copy(dst, src, bytes, err) && mem.finish(err);
        for (int i = 0; ok && i < 10; ++i) {
            double s = 0.0;
            ok = mem.start(err) && mem.copy(dst, src, bytes, err) && mem.stop(&s, err);
            t.push_back(s);
        }
        bool released = mem.release(src, err);
        released = mem.release(dst, err) && released;
        if (!ok || !released)
            return false;
        f->copy_bytes_per_s = 2.0 * static_cast<double>(bytes) / median(t);
        f->copy_buffer_bytes = bytes;
        return true;
    }
    err = "copy bandwidth: cannot allocate 2 x 32 MiB";
    return false;
}

// The one-launch call and the queued launch (above), on ctx; false with err set when a
// call or a runtime call fails.
inline bool measure_launch(aa_context *ctx, bench_device::Memory &mem, Floor *f, std::string &err)
{
    static const float box[4] = {0.0f, 0.0f, 16.0f, 16.0f};
    static const int64_t host_offsets[2] = {0, 1}, one_level = 1;
    static const float stride = 8.0f;
    bench_device::Buffers d(mem, err);
    const float *dev_box = d.upload(box, 4);
    float *out = d.alloc<float>(1);
    if (!err.empty())
        return false;
    aa_anchors a{dev_box, 1, 1, &one_level, &stride};
    aa_gts g{dev_box, host_offsets, 1, nullptr, nullptr, nullptr};
    auto call = [&] { return aa_overlaps(ctx, AA_IOU, 1e-6f, &a, &g, out); };
    auto failed = [&](aa_status st) {
        if (st != AA_SUCCESS && err.empty())
            err = std::string("aa_overlaps (1 x 1): ") + aa_status_string(st) + ": " +
                  aa_context_last_error(ctx);
        return st != AA_SUCCESS || !err.empty();
    };
    for (int i = 0; i < 3; ++i) // warm-up (a first launch may build or load the kernel)
        if (failed(call()) || !mem.finish(err))
            return false;
    std::vector<double> one, queued;
    for (int i = 0; i < 31; ++i) {
        double s = 0.0;
        if (!mem.start(err) || failed(call()) || !mem.stop(&s, err))
            return false;
        one.push_back(s);
    }
    const int chain = 64;
    for (int r = 0; r < 5; ++r) {
        double s = 0.0;
        if (!mem.start(err))
            return false;
        for (int i = 0; i < chain; ++i)
            if (failed(call()))
                return false;
        if (!mem.stop(&s, err))
            return false;
        queued.push_back(s / chain);
    }
    f->call_s = median(one);
    f->queued_s = median(queued);
    return d.release_all(err);
}

// Both measurements, once per backend (f->measured).
inline bool measure(aa_context *ctx, bench_device::Memory &mem, Floor *f, std::string &err)
{
    if (f->measured)
        return true;
    if (!measure_copy(mem, f, err) || !measure_launch(ctx, mem, f, err))
        return false;
    f->measured = true;
    return true;
}

// One launch of a profiled call: its kernel, time and least bytes (aa_stage_time).
struct Stage {
    std::string kernel;
    double ms = 0.0;
    double bytes = 0.0;
};

// The launches of `calls` calls made with profiling on (then off again), each
// launch's time the median over the calls; false with err set when profiling fails or
// a call launches other kernels than the first did.
template <class Call>
bool profile_stages(aa_context *ctx, bench_device::Memory &mem, Call call, int calls,
                    std::vector<Stage> *out, std::string &err)
{
    aa_status st = aa_context_profile(ctx, 1);
    std::vector<std::vector<double>> ms;
    out->clear();
    for (int i = 0; st == AA_SUCCESS && err.empty() && i < calls; ++i) {
        st = call();
        const aa_stage_time *stages = nullptr;
        int count = 0;
        if (st == AA_SUCCESS && mem.finish(err))
            st = aa_context_stages(ctx, &stages, &count);
        if (st != AA_SUCCESS || !err.empty())
            break;
        if (i == 0) {
            out->resize(static_cast<size_t>(count));
            ms.resize(static_cast<size_t>(count));
        }
        if (static_cast<size_t>(count) != out->size()) {
            err = "profiling: " + std::to_string(count) + " launches, then " +
                  std::to_string(out->size());
            break;
        }
        for (size_t k = 0; k < out->size(); ++k) {
            if (i == 0)
                (*out)[k].kernel = stages[k].kernel, (*out)[k].bytes = stages[k].bytes;
            else if ((*out)[k].kernel != stages[k].kernel) {
                err = "profiling: launch " + std::to_string(k) + " was " + (*out)[k].kernel +
                      ", then " + stages[k].kernel;
                break;
            }
            ms[k].push_back(stages[k].ms);
        }
    }
    if (st != AA_SUCCESS && err.empty())
        err = std::string("profiling (aa_context_profile): ") + aa_status_string(st) + ": " +
              aa_context_last_error(ctx);
    aa_status off = aa_context_profile(ctx, 0);
    if (off != AA_SUCCESS && err.empty())
        err = std::string("aa_context_profile(0): ") + aa_context_last_error(ctx);
    for (size_t k = 0; err.empty() && k < out->size(); ++k)
        (*out)[k].ms = median(ms[k]);
    return err.empty();
}

// The floor in seconds: which bound it is in *by ("launches" or "bytes").
inline double floor_seconds(const Floor &f, int launches, double bytes_min, const char **by)
{
    double launch_s = launches > 0 ? f.call_s + (launches - 1) * f.queued_s : 0.0;
    double bytes_s = bytes_min / f.copy_bytes_per_s;
    *by = launch_s >= bytes_s ? "launches" : "bytes";
    return std::max(launch_s, bytes_s);
}

} // namespace bench_floor

#endif // AA_BENCH_FLOOR_H
