/* clnet.h - umbrella header: everything a program linking libclnet needs.
 * OpenCL interop lives in clnet/opencl.h, included separately so that users
 * of the plain API need no OpenCL headers. */
#ifndef CLNET_H
#define CLNET_H

#include "clnet/status.h"
#include "clnet/context.h"
#include "clnet/tensor.h"
#include "clnet/ops.h"
#include "clnet/data.h"
#include "clnet/nn.h"
#include "clnet/onnx.h"
#include "clnet/parallel.h"
#include "clnet/es.h"

#endif
