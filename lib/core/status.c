/* status.c - text for status codes, including OpenCL's symbolic names. */
#include "clnet/status.h"

#include <stddef.h>

static const char *opencl_error_name(int code)
{
    static const struct { int code; const char *name; } names[] = {
        {-1, "CL_DEVICE_NOT_FOUND"}, {-2, "CL_DEVICE_NOT_AVAILABLE"},
        {-3, "CL_COMPILER_NOT_AVAILABLE"}, {-4, "CL_MEM_OBJECT_ALLOCATION_FAILURE"},
        {-5, "CL_OUT_OF_RESOURCES"}, {-6, "CL_OUT_OF_HOST_MEMORY"},
        {-7, "CL_PROFILING_INFO_NOT_AVAILABLE"}, {-8, "CL_MEM_COPY_OVERLAP"},
        {-9, "CL_IMAGE_FORMAT_MISMATCH"}, {-10, "CL_IMAGE_FORMAT_NOT_SUPPORTED"},
        {-11, "CL_BUILD_PROGRAM_FAILURE"}, {-12, "CL_MAP_FAILURE"},
        {-13, "CL_MISALIGNED_SUB_BUFFER_OFFSET"},
        {-14, "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST"},
        {-15, "CL_COMPILE_PROGRAM_FAILURE"}, {-16, "CL_LINKER_NOT_AVAILABLE"},
        {-17, "CL_LINK_PROGRAM_FAILURE"}, {-18, "CL_DEVICE_PARTITION_FAILED"},
        {-19, "CL_KERNEL_ARG_INFO_NOT_AVAILABLE"}, {-30, "CL_INVALID_VALUE"},
        {-31, "CL_INVALID_DEVICE_TYPE"}, {-32, "CL_INVALID_PLATFORM"},
        {-33, "CL_INVALID_DEVICE"}, {-34, "CL_INVALID_CONTEXT"},
        {-35, "CL_INVALID_QUEUE_PROPERTIES"}, {-36, "CL_INVALID_COMMAND_QUEUE"},
        {-37, "CL_INVALID_HOST_PTR"}, {-38, "CL_INVALID_MEM_OBJECT"},
        {-39, "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR"}, {-40, "CL_INVALID_IMAGE_SIZE"},
        {-41, "CL_INVALID_SAMPLER"}, {-42, "CL_INVALID_BINARY"},
        {-43, "CL_INVALID_BUILD_OPTIONS"}, {-44, "CL_INVALID_PROGRAM"},
        {-45, "CL_INVALID_PROGRAM_EXECUTABLE"}, {-46, "CL_INVALID_KERNEL_NAME"},
        {-47, "CL_INVALID_KERNEL_DEFINITION"}, {-48, "CL_INVALID_KERNEL"},
        {-49, "CL_INVALID_ARG_INDEX"}, {-50, "CL_INVALID_ARG_VALUE"},
        {-51, "CL_INVALID_ARG_SIZE"}, {-52, "CL_INVALID_KERNEL_ARGS"},
        {-53, "CL_INVALID_WORK_DIMENSION"}, {-54, "CL_INVALID_WORK_GROUP_SIZE"},
        {-55, "CL_INVALID_WORK_ITEM_SIZE"}, {-56, "CL_INVALID_GLOBAL_OFFSET"},
        {-57, "CL_INVALID_EVENT_WAIT_LIST"}, {-58, "CL_INVALID_EVENT"},
        {-59, "CL_INVALID_OPERATION"}, {-60, "CL_INVALID_GL_OBJECT"},
        {-61, "CL_INVALID_BUFFER_SIZE"}, {-62, "CL_INVALID_MIP_LEVEL"},
        {-63, "CL_INVALID_GLOBAL_WORK_SIZE"}, {-64, "CL_INVALID_PROPERTY"},
        {-65, "CL_INVALID_IMAGE_DESCRIPTOR"}, {-66, "CL_INVALID_COMPILER_OPTIONS"},
        {-67, "CL_INVALID_LINKER_OPTIONS"}, {-68, "CL_INVALID_DEVICE_PARTITION_COUNT"},
        {-1001, "CL_PLATFORM_NOT_FOUND_KHR"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == code)
            return names[i].name;
    return "OpenCL error (unnamed code)";
}

/* A band holds band + code for raw codes -1 .. -99999. */
static int band_code(clnet_status status, int band)
{
    int s = (int)status;
    return s < band && s > band - 100000 ? s - band : 0;
}

int clnet_status_opencl_code(clnet_status status)
{
    return band_code(status, CLNET_ERR_OPENCL_BAND);
}

int clnet_status_clblast_code(clnet_status status)
{
    return band_code(status, CLNET_ERR_CLBLAST_BAND);
}

const char *clnet_status_str(clnet_status status)
{
    switch (status) {
    case CLNET_OK: return "success";
    case CLNET_ERR_INVALID_ARGUMENT: return "invalid argument";
    case CLNET_ERR_INVALID_PARAMS: return "op parameters out of range";
    case CLNET_ERR_SHAPE: return "tensor shapes do not fit the op";
    case CLNET_ERR_DTYPE: return "wrong tensor element type";
    case CLNET_ERR_LAYOUT: return "tensor layout not supported by the op";
    case CLNET_ERR_DEVICE_MISMATCH: return "tensors live on different devices";
    case CLNET_ERR_UNSUPPORTED: return "not supported";
    case CLNET_ERR_NO_DEVICE: return "no such device";
    case CLNET_ERR_HOST_MEMORY: return "out of host memory";
    case CLNET_ERR_DEVICE_MEMORY: return "out of device memory";
    case CLNET_ERR_BUILD: return "OpenCL program build failed";
    case CLNET_ERR_NO_BINARY: return "no program binary for this device";
    case CLNET_ERR_IO: return "file input/output error";
    case CLNET_ERR_FORMAT: return "malformed file";
    case CLNET_ERR_INTERNAL: return "internal error (a clnet bug)";
    default: break;
    }
    int cl = clnet_status_opencl_code(status);
    if (cl != 0)
        return opencl_error_name(cl);
    if (clnet_status_clblast_code(status) != 0)
        return "CLBlast error";
    return "unknown clnet status";
}
