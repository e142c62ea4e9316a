// Everything CChallengeKernels offers Swift: the challenge's generator, row hash and Merkle levels (shared with the
// CUDA kernels) and the CPU solver's vector int8 products.
#include "challenge_kernels.h"
#include "cpu_int8.h"
