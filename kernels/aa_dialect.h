/* aa_dialect.h - the small portable dialect every kernel in kernels/ is written in.
 * One source compiles as CUDA C++ (nvcc), OpenCL C 1.2 (the OpenCL backend embeds
 * the text and builds it at context creation; PoCL in CI) and plain host C (so host
 * tests call the device helpers directly). Kernels use only these names, never an
 * #ifdef of their own.
 *
 * | name                      | CUDA                          | OpenCL C                  | host C          |
 * |---------------------------|-------------------------------|---------------------------|-----------------|
 * | AA_KERNEL                 | extern "C" __global__ void    | __kernel void             | -               |
 * | AA_DEVICE                 | static __host__ __device__ inline | static inline         | static inline   |
 * | AA_DEVICE_ONLY (barriers, indices) | static __device__ inline | static inline       | -               |
 * | AA_GLOBAL                 | (nothing)                     | __global                  | (nothing)       |
 * | AA_LOCAL                  | (nothing)                     | __local                   | (nothing)       |
 * | AA_SHARED(type, name, n)  | __shared__ type name[n]       | __local type name[n]      | -               |
 * | AA_LOCAL_ID / AA_LOCAL_SIZE | threadIdx.x / blockDim.x    | get_local_id(0) / get_local_size(0) | - |
 * | AA_GROUP_ID_X / _Y        | blockIdx.x / blockIdx.y       | get_group_id(0) / (1)     | -               |
 * | AA_NUM_GROUPS_X / _Y      | gridDim.x / gridDim.y         | get_num_groups(0) / (1)   | -               |
 * | AA_BARRIER()              | __syncthreads()               | barrier(CLK_LOCAL_MEM_FENCE) | -            |
 * | AA_BARRIER_GLOBAL() (global memory shared in the group too) | __syncthreads() | barrier(LOCAL and GLOBAL fences) | - |
 * | aa_i32 aa_u32 aa_i64 aa_u64 aa_u8 | int unsigned long long .. unsigned char | int uint long ulong uchar | <stdint.h> |
 * | AA_ATOMIC_MAX_U64(p, v)   | atomicMax                     | atom_max (cl_khr_int64_extended_atomics) | - |
 * | AA_FLOAT_BITS(f) / AA_BITS_FLOAT(u) | __float_as_uint / __uint_as_float | as_uint / as_float | memcpy |
 * | AA_NAN, AA_NEG_INF (double, kernels) | __longlong_as_double(..) | as_double(..)     | -               |
 * | AA_EXP AA_LOG AA_FABS AA_ISFINITE (double) | exp log fabs isfinite | the same         | <math.h>        |
 * | AA_POW AA_LOG1P AA_FMAX AA_FMIN (double) | pow log1p fmax fmin | the same             | <math.h>        |
 * | AA_LOGF(x) (float)        | logf                          | log((float)x)             | logf            |
 * | AA_ISFINITEF(x) (float)   | isfinite                      | isfinite                  | isfinite        |
 *
 * Floating point: no contraction anywhere (FP_CONTRACT OFF here, nvcc -fmad=false,
 * gcc -ffp-contract=off) and IEEE division and square root (OpenCL builds with
 * -cl-fp32-correctly-rounded-divide-sqrt), so float32 results are bit-identical on
 * every backend and to the CPU reference.
 */
#ifndef AA_DIALECT_H
#define AA_DIALECT_H

#if defined(__OPENCL_VERSION__)

#pragma OPENCL FP_CONTRACT OFF
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL EXTENSION cl_khr_int64_extended_atomics : enable
#define AA_KERNEL __kernel void
#define AA_DEVICE static inline
#define AA_DEVICE_ONLY static inline
#define AA_GLOBAL __global
#define AA_LOCAL __local
#define AA_SHARED(type, name, n) __local type name[n]
#define AA_LOCAL_ID ((aa_i32)get_local_id(0))
#define AA_LOCAL_SIZE ((aa_i32)get_local_size(0))
#define AA_GROUP_ID_X ((aa_i64)get_group_id(0))
#define AA_GROUP_ID_Y ((aa_i64)get_group_id(1))
#define AA_NUM_GROUPS_X ((aa_i64)get_num_groups(0))
#define AA_NUM_GROUPS_Y ((aa_i64)get_num_groups(1))
#define AA_BARRIER() barrier(CLK_LOCAL_MEM_FENCE)
#define AA_BARRIER_GLOBAL() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)
typedef int aa_i32;
typedef uint aa_u32;
typedef long aa_i64;
typedef ulong aa_u64;
typedef uchar aa_u8;
#define AA_SQRTF(x) sqrt(x)
#define AA_SQRT(x) sqrt(x)
#define AA_ATOMIC_MAX_U64(p, v) atom_max((volatile AA_GLOBAL aa_u64 *)(p), (v))
#define AA_FLOAT_BITS(f) as_uint(f)
#define AA_BITS_FLOAT(u) as_float(u)
#define AA_NAN as_double(0x7ff8000000000000UL)
#define AA_NEG_INF as_double(0xfff0000000000000UL)
#define AA_EXP(x) exp(x)
#define AA_LOG(x) log(x)
#define AA_FABS(x) fabs(x)
#define AA_ISFINITE(x) isfinite(x)
#define AA_POW(x, y) pow(x, y)
#define AA_LOG1P(x) log1p(x)
#define AA_FMAX(x, y) fmax(x, y)
#define AA_FMIN(x, y) fmin(x, y)
#define AA_LOGF(x) log((float)(x))
#define AA_ISFINITEF(x) isfinite((float)(x))

#elif defined(__CUDACC__)

#define AA_KERNEL extern "C" __global__ void
#define AA_DEVICE static __host__ __device__ inline
#define AA_DEVICE_ONLY static __device__ inline
#define AA_GLOBAL
#define AA_LOCAL
#define AA_SHARED(type, name, n) __shared__ type name[n]
#define AA_LOCAL_ID ((aa_i32)threadIdx.x)
#define AA_LOCAL_SIZE ((aa_i32)blockDim.x)
#define AA_GROUP_ID_X ((aa_i64)blockIdx.x)
#define AA_GROUP_ID_Y ((aa_i64)blockIdx.y)
#define AA_NUM_GROUPS_X ((aa_i64)gridDim.x)
#define AA_NUM_GROUPS_Y ((aa_i64)gridDim.y)
#define AA_BARRIER() __syncthreads()
#define AA_BARRIER_GLOBAL() __syncthreads()
typedef int aa_i32;
typedef unsigned int aa_u32;
typedef long long aa_i64;
typedef unsigned long long aa_u64;
typedef unsigned char aa_u8;
#define AA_SQRTF(x) sqrtf(x)
#define AA_SQRT(x) sqrt(x)
#define AA_ATOMIC_MAX_U64(p, v) atomicMax((p), (v))
#include <string.h>
/* Bit casts usable from __host__ __device__ helpers: the intrinsic on the device. */
static __host__ __device__ inline aa_u32 aa_cuda_float_bits(float f)
{
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    aa_u32 u;
    memcpy(&u, &f, 4);
    return u;
#endif
}
static __host__ __device__ inline float aa_cuda_bits_float(aa_u32 u)
{
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, 4);
    return f;
#endif
}
#define AA_FLOAT_BITS(f) aa_cuda_float_bits(f)
#define AA_BITS_FLOAT(u) aa_cuda_bits_float(u)
#define AA_NAN __longlong_as_double(0x7ff8000000000000LL)
#define AA_NEG_INF __longlong_as_double((long long)0xfff0000000000000ULL)
#define AA_EXP(x) exp(x)
#define AA_LOG(x) log(x)
#define AA_FABS(x) fabs(x)
#define AA_ISFINITE(x) isfinite(x)
#define AA_POW(x, y) pow(x, y)
#define AA_LOG1P(x) log1p(x)
#define AA_FMAX(x, y) fmax(x, y)
#define AA_FMIN(x, y) fmin(x, y)
#define AA_LOGF(x) logf(x)
#define AA_ISFINITEF(x) isfinite(x)

#else /* host C: the device helpers only */

#include <math.h>
#include <stdint.h>
#define AA_DEVICE static inline
#define AA_GLOBAL
#define AA_LOCAL
#include <string.h>
typedef int32_t aa_i32;
typedef uint32_t aa_u32;
typedef int64_t aa_i64;
typedef uint64_t aa_u64;
typedef uint8_t aa_u8;
#define AA_SQRTF(x) sqrtf(x)
#define AA_SQRT(x) sqrt(x)
#define AA_EXP(x) exp(x)
#define AA_LOG(x) log(x)
#define AA_FABS(x) fabs(x)
#define AA_ISFINITE(x) isfinite(x)
#define AA_POW(x, y) pow(x, y)
#define AA_LOG1P(x) log1p(x)
#define AA_FMAX(x, y) fmax(x, y)
#define AA_FMIN(x, y) fmin(x, y)
#define AA_LOGF(x) logf(x)
#define AA_ISFINITEF(x) isfinite(x)
static inline aa_u32 aa_host_float_bits(float f) { aa_u32 u; memcpy(&u, &f, 4); return u; }
static inline float aa_host_bits_float(aa_u32 u) { float f; memcpy(&f, &u, 4); return f; }
#define AA_FLOAT_BITS(f) aa_host_float_bits(f)
#define AA_BITS_FLOAT(u) aa_host_bits_float(u)

#endif

#endif /* AA_DIALECT_H */
