#ifndef RELAYWATCH_CZLIB_SHIM_H
#define RELAYWATCH_CZLIB_SHIM_H
#include <zlib.h>
#endif
