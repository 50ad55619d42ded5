// SPDX-License-Identifier: Apache-2.0
// err.c -- MaacErr formatting (see err.h).
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

int maac_err(MaacErr* reterr, int code, const char* fmt, ...) {
    if (!reterr) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reterr->msg, sizeof reterr->msg, fmt, ap);
    va_end(ap);
    return code;
}
