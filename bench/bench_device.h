// bench_device.h - the device memory of bench_assign's AA_MEMORY_NATIVE runs, behind
// one small interface so that the bench logic that uses it (uploads, the check
// against the CPU reference, the timed loop) is written once: CUDA (cudaMalloc on the
// context's device, copies and timing on the context's stream) and OpenCL (cl_mem on
// the context's cl_context and queue), which runs here on PoCL and so exercises that
// same logic on machines without a GPU.
//
// A buffer is the pointer the library takes under AA_MEMORY_NATIVE: a CUDA device
// pointer, or an OpenCL cl_mem cast to the array's pointer type (anchorassign.h,
// aa_memory). Every runtime call is checked: a failure sets `err` (the first one is
// kept) and the caller fails its case with it. Header-only, one translation unit.
#ifndef AA_BENCH_DEVICE_H
#define AA_BENCH_DEVICE_H

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if AA_BENCH_CUDA
#include <cuda_runtime.h>
#endif
#if AA_BENCH_OPENCL
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#endif

namespace bench_device {

// One GPU context's memory and clock.
class Memory {
public:
    virtual ~Memory() = default;
    // A buffer of `bytes` (at least 1 allocated); nullptr and err set on failure.
    virtual void *alloc(size_t bytes, std::string &err) = 0;
    // Host -> device and device -> host, ordered after every call queued on the
    // context's stream/queue; both have completed when they return.
    virtual bool upload(void *dev, const void *host, size_t bytes, std::string &err) = 0;
    virtual bool download(void *host, const void *dev, size_t bytes, std::string &err) = 0;
    virtual bool release(void *dev, std::string &err) = 0;
    // Device -> device and a byte fill, queued on the context's stream/queue (not
    // waited for): the copy bandwidth of bench_floor.h.
    virtual bool copy(void *dst, const void *src, size_t bytes, std::string &err) = 0;
    virtual bool fill(void *dev, unsigned char value, size_t bytes, std::string &err) = 0;
    // start() just before a timed call, stop() just after: *seconds is the time the
    // call's work took (how: see the implementations).
    virtual bool start(std::string &err) = 0;
    virtual bool stop(double *seconds, std::string &err) = 0;
    // Waits for everything queued on the context's stream/queue.
    virtual bool finish(std::string &err) = 0;
};

// The buffers of one benchmark run, released together (also on every early return).
// Once err is set every further request is refused (returns nullptr / false), so a
// run can make its requests in a row and check err once.
class Buffers {
public:
    Buffers(Memory &mem, std::string &err) : mem_(mem), err_(err) {}
    Buffers(const Buffers &) = delete;
    Buffers &operator=(const Buffers &) = delete;
    ~Buffers()
    {
        std::string ignored; // a failing run has reported its first error already
        release_all(ignored);
    }
    // Releases every buffer now; false (err set) if a release failed.
    bool release_all(std::string &err)
    {
        bool ok = true;
        for (void *p : all_)
            if (!mem_.release(p, err))
                ok = false;
        all_.clear();
        return ok;
    }
    // n elements of T, uninitialised.
    template <class T> T *alloc(size_t n)
    {
        if (!err_.empty())
            return nullptr;
        void *p = mem_.alloc(n * sizeof(T), err_);
        if (p)
            all_.push_back(p);
        return static_cast<T *>(p);
    }
    // n elements of T copied from host memory.
    template <class T> T *upload(const T *host, size_t n)
    {
        T *p = alloc<T>(n);
        if (p && n && !mem_.upload(p, host, n * sizeof(T), err_))
            return nullptr;
        return p;
    }
    // n elements of T, every byte 0xA5 (outputs before the checked call: a result
    // that the call did not write cannot match the reference by chance).
    template <class T> T *poisoned(size_t n)
    {
        T *p = alloc<T>(n);
        if (p && n && !mem_.fill(p, 0xA5, n * sizeof(T), err_))
            return nullptr;
        return p;
    }
    // The first host.size() elements of dev into host.
    template <class T> bool download(std::vector<T> &host, const T *dev)
    {
        if (!err_.empty())
            return false;
        return host.empty() || mem_.download(host.data(), dev, host.size() * sizeof(T), err_);
    }

private:
    Memory &mem_;
    std::string &err_;
    std::vector<void *> all_;
};

#if AA_BENCH_CUDA
// CUDA: device memory of the current device (the context's: device 0), copies as
// cudaMemcpyAsync on the context's stream followed by cudaStreamSynchronize (the
// stream may be a non-blocking one), timing with CUDA events on that stream, and
// before each timed call a cudaMemsetAsync of `flush_bytes` (twice the L2) so that
// the inputs do not sit in L2 (untimed: before the first event).
class CudaMemory final : public Memory {
public:
    CudaMemory(cudaStream_t stream, void *flush, size_t flush_bytes)
        : stream_(stream), flush_(flush), flush_bytes_(flush_bytes)
    {
    }
    ~CudaMemory() override
    {
        if (e0_)
            cudaEventDestroy(e0_);
        if (e1_)
            cudaEventDestroy(e1_);
    }
    // The events; false with err set if they cannot be created.
    bool init(std::string &err)
    {
        return check(cudaEventCreate(&e0_), "cudaEventCreate", err) &&
               check(cudaEventCreate(&e1_), "cudaEventCreate", err);
    }
    void *alloc(size_t bytes, std::string &err) override
    {
        void *p = nullptr;
        if (!check(cudaMalloc(&p, bytes ? bytes : 1), "cudaMalloc", err))
            return nullptr;
        return p;
    }
    bool upload(void *dev, const void *host, size_t bytes, std::string &err) override
    {
        return check(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, stream_),
                     "cudaMemcpyAsync (upload)", err) &&
               finish(err);
    }
    bool download(void *host, const void *dev, size_t bytes, std::string &err) override
    {
        return check(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, stream_),
                     "cudaMemcpyAsync (download)", err) &&
               finish(err);
    }
    bool release(void *dev, std::string &err) override
    {
        return check(cudaFree(dev), "cudaFree", err);
    }
    bool copy(void *dst, const void *src, size_t bytes, std::string &err) override
    {
        return check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_),
                     "cudaMemcpyAsync (device to device)", err);
    }
    bool fill(void *dev, unsigned char value, size_t bytes, std::string &err) override
    {
        return check(cudaMemsetAsync(dev, value, bytes, stream_), "cudaMemsetAsync", err);
    }
    bool start(std::string &err) override
    {
        return (!flush_ || check(cudaMemsetAsync(flush_, 0, flush_bytes_, stream_),
                                 "cudaMemsetAsync (L2 flush)", err)) &&
               check(cudaEventRecord(e0_, stream_), "cudaEventRecord", err);
    }
    bool stop(double *seconds, std::string &err) override
    {
        float ms = 0.0f;
        if (!check(cudaEventRecord(e1_, stream_), "cudaEventRecord", err) ||
            !check(cudaEventSynchronize(e1_), "cudaEventSynchronize", err) ||
            !check(cudaEventElapsedTime(&ms, e0_, e1_), "cudaEventElapsedTime", err))
            return false;
        *seconds = static_cast<double>(ms) * 1e-3;
        return true;
    }
    bool finish(std::string &err) override
    {
        return check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize", err);
    }

private:
    static bool check(cudaError_t e, const char *what, std::string &err)
    {
        if (e == cudaSuccess)
            return true;
        if (err.empty())
            err = std::string(what) + ": " + cudaGetErrorString(e);
        return false;
    }
    cudaStream_t stream_;
    void *flush_;
    size_t flush_bytes_;
    cudaEvent_t e0_ = nullptr, e1_ = nullptr;
};
#endif

#if AA_BENCH_OPENCL
// OpenCL: cl_mem buffers in the cl_context of the context's queue, blocking reads and
// writes on that queue. Timing is the wall clock from a clFinish before the call to a
// clFinish after it (no device-side events: the call may enqueue many commands, and
// on PoCL the device is this CPU, so the host clock is the device's); no cache flush.
class OpenclMemory final : public Memory {
public:
    explicit OpenclMemory(cl_command_queue queue) : queue_(queue) {}
    // The queue's context; false with err set if it cannot be queried.
    bool init(std::string &err)
    {
        return check(clGetCommandQueueInfo(queue_, CL_QUEUE_CONTEXT, sizeof context_, &context_,
                                           nullptr),
                     "clGetCommandQueueInfo (CL_QUEUE_CONTEXT)", err);
    }
    void *alloc(size_t bytes, std::string &err) override
    {
        cl_int e = CL_SUCCESS;
        cl_mem m = clCreateBuffer(context_, CL_MEM_READ_WRITE, bytes ? bytes : 1, nullptr, &e);
        if (!check(e, "clCreateBuffer", err))
            return nullptr;
        return reinterpret_cast<void *>(m);
    }
    bool upload(void *dev, const void *host, size_t bytes, std::string &err) override
    {
        return check(clEnqueueWriteBuffer(queue_, mem(dev), CL_TRUE, 0, bytes, host, 0, nullptr,
                                          nullptr),
                     "clEnqueueWriteBuffer", err);
    }
    bool download(void *host, const void *dev, size_t bytes, std::string &err) override
    {
        return check(clEnqueueReadBuffer(queue_, mem(dev), CL_TRUE, 0, bytes, host, 0, nullptr,
                                         nullptr),
                     "clEnqueueReadBuffer", err);
    }
    bool release(void *dev, std::string &err) override
    {
        return check(clReleaseMemObject(mem(dev)), "clReleaseMemObject", err);
    }
    bool copy(void *dst, const void *src, size_t bytes, std::string &err) override
    {
        return check(clEnqueueCopyBuffer(queue_, mem(src), mem(dst), 0, 0, bytes, 0, nullptr,
                                         nullptr),
                     "clEnqueueCopyBuffer", err);
    }
    bool fill(void *dev, unsigned char value, size_t bytes, std::string &err) override
    {
        return check(clEnqueueFillBuffer(queue_, mem(dev), &value, 1, 0, bytes, 0, nullptr,
                                         nullptr),
                     "clEnqueueFillBuffer", err);
    }
    bool start(std::string &err) override
    {
        if (!finish(err))
            return false;
        t0_ = std::chrono::steady_clock::now();
        return true;
    }
    bool stop(double *seconds, std::string &err) override
    {
        if (!finish(err))
            return false;
        *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
        return true;
    }
    bool finish(std::string &err) override { return check(clFinish(queue_), "clFinish", err); }

private:
    static cl_mem mem(const void *dev) { return reinterpret_cast<cl_mem>(const_cast<void *>(dev)); }
    static bool check(cl_int e, const char *what, std::string &err)
    {
        if (e == CL_SUCCESS)
            return true;
        if (err.empty())
            err = std::string(what) + ": OpenCL error " + std::to_string(e);
        return false;
    }
    cl_command_queue queue_;
    cl_context context_ = nullptr;
    std::chrono::steady_clock::time_point t0_{};
};
#endif

} // namespace bench_device

#endif // AA_BENCH_DEVICE_H
