// Lock annotations. Under clang they are checked by -Wthread-safety where the mutex type is
// annotated; under gcc they document which mutex guards which member.
#pragma once

#if defined(__clang__)
#define GUARDED_BY(x) __attribute__((guarded_by(x)))
#define REQUIRES(...) __attribute__((requires_capability(__VA_ARGS__)))
#else
#define GUARDED_BY(x)
#define REQUIRES(...)
#endif
