// SPDX-License-Identifier: MIT
// Minimal test harness: CHECK(cond) and CHECK_NEAR(a, b, tol) count failures; main returns
// the count so ctest sees a non-zero exit.
#pragma once

#include <cmath>
#include <cstdio>

namespace fbsim_test {
inline int failures = 0;
}

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            ++fbsim_test::failures;                                              \
        }                                                                        \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        const double fbsim_a_ = (a), fbsim_b_ = (b);                                       \
        if (!(std::fabs(fbsim_a_ - fbsim_b_) <= (tol))) {                                  \
            std::fprintf(stderr, "%s:%d: CHECK_NEAR(%s, %s) failed: %.17g vs %.17g\n",     \
                         __FILE__, __LINE__, #a, #b, fbsim_a_, fbsim_b_);                  \
            ++fbsim_test::failures;                                                        \
        }                                                                                  \
    } while (0)

#define TEST_MAIN_END()                                                   \
    if (fbsim_test::failures) std::fprintf(stderr, "%d failure(s)\n", fbsim_test::failures); \
    return fbsim_test::failures ? 1 : 0
