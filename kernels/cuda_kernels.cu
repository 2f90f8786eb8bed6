/* cuda_kernels.cu - every kernel of kernels/, compiled by nvcc for the CUDA backend
 * (sm_80 and sm_90; -Xptxas=-v prints each kernel's registers, spills and shared
 * memory into the build log). The same files are embedded as OpenCL C. */
#include "overlaps.h"
#include "fcos.h"
#include "max_iou.h"
#include "atss.h"
