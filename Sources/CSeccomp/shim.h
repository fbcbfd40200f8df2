// libseccomp, for the daemon's system call allow-list (PatchbayLab/SystemCallFilter.swift).
#ifndef PATCHBAY_CSECCOMP_H
#define PATCHBAY_CSECCOMP_H

#include <seccomp.h>

/// SCMP_ACT_ERRNO(error): a function-like macro, which Swift does not import.
static inline uint32_t pb_seccomp_fail_with(uint16_t error) { return SCMP_ACT_ERRNO(error); }

/// SCMP_ACT_ALLOW, spelled as a function for the same reason.
static inline uint32_t pb_seccomp_allow(void) { return SCMP_ACT_ALLOW; }

#endif
